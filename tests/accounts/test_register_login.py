"""Registration and login (api.md 2.1, operations.md 2.2-2.8)."""

from __future__ import annotations

import pytest

from accounts import pow
from accounts.models import PreKey, User
from tests.helpers import PASSWORD, Api, haven_settings, key_material

pytestmark = pytest.mark.django_db(transaction=False)


def register_body(username: str, **extra: object) -> dict[str, object]:
    return {"username": username, "password": PASSWORD, **key_material(username), **extra}


def test_register_returns_tokens_and_public_user(api: Api) -> None:
    response = api.post("/api/v1/auth/register", register_body("alice", display_name="Alice"))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"access_token", "refresh_token", "user"}
    assert len(data["refresh_token"]) == 64
    user = data["user"]
    assert user["username"] == "alice"
    assert user["display_name"] == "Alice"
    assert user["totp_enabled"] is False
    assert user["created_at"].endswith("Z")
    # The spec's quirk, kept (api.md 2.1): the register answer omits is_instance_admin, even
    # for the admin.
    assert "is_instance_admin" not in user
    assert "encrypted_profile" not in user
    assert set(user) == {
        "id", "username", "display_name", "about_me", "avatar_url", "banner_url",
        "custom_status", "custom_status_emoji", "created_at", "totp_enabled",
    }  # fmt: skip


def test_first_user_becomes_admin_second_does_not(api: Api) -> None:
    api.register("alice")
    api.register("bob")
    assert User.objects.get(username="alice").is_instance_admin
    assert not User.objects.get(username="bob").is_instance_admin
    login = api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
    assert login.json()["user"]["is_instance_admin"] is True


def test_prekeys_are_stored_with_index_ids(api: Api) -> None:
    alice = api.register("alice")
    keys = PreKey.objects.filter(user_id=alice.id).order_by("key_id")
    assert [k.key_id for k in keys] == [0, 1, 2]
    assert bytes(keys[0].public_key) == b"otp-alice-0"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", "username: Username must be 3-32 characters"),
        ("a" * 33, "username: Username must be 3-32 characters"),
        (
            "bad name",
            "username: Username can only contain letters, numbers, underscores and hyphens",
        ),
        ("émile", "username: Username can only contain letters, numbers, underscores and hyphens"),
    ],
)
def test_register_rejects_bad_usernames(api: Api, username: str, message: str) -> None:
    response = api.post("/api/v1/auth/register", register_body(username))
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400}
    assert not User.objects.exists()


@pytest.mark.parametrize("password", ["short", "x" * 129])
def test_register_rejects_bad_password_length(api: Api, password: str) -> None:
    response = api.post("/api/v1/auth/register", register_body("alice", password=password))
    assert response.status_code == 400
    assert response.json()["error"] == "password: Password must be 8-128 characters"


def test_usernames_are_unique_case_insensitively(api: Api) -> None:
    api.register("Alice")
    response = api.post("/api/v1/auth/register", register_body("alice"))
    assert response.status_code == 409
    assert response.json() == {"error": "Username already taken", "status": 409}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("identity_key", "Invalid identity_key encoding"),
        ("signed_prekey", "Invalid signed_prekey encoding"),
        ("signed_prekey_signature", "Invalid signed_prekey_signature encoding"),
    ],
)
@pytest.mark.parametrize("bad", ["not base64!", "QQ", "QR==", "YWJj\n", "-_-_"])
def test_register_rejects_bad_base64_keys(api: Api, field: str, message: str, bad: str) -> None:
    response = api.post("/api/v1/auth/register", register_body("alice", **{field: bad}))
    assert response.status_code == 400
    assert response.json()["error"] == message
    assert not User.objects.exists()


def test_bad_prekey_creates_no_user(api: Api) -> None:
    body = register_body("alice")
    body["one_time_prekeys"] = ["QQ==", "no!pe"]
    response = api.post("/api/v1/auth/register", body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid prekey encoding at index 1"
    assert not User.objects.exists()


def test_too_many_prekeys_rejected(api: Api) -> None:
    body = register_body("alice")
    body["one_time_prekeys"] = ["QQ=="] * 101
    response = api.post("/api/v1/auth/register", body)
    assert response.status_code == 400
    assert not User.objects.exists()


def test_email_is_kept_only_as_keyed_hash(api: Api) -> None:
    api.register("alice", email="  Alice@Example.org ")
    stored = User.objects.get(username="alice").email_hash
    assert stored is not None
    assert len(stored) == 64
    assert "example" not in stored.lower()
    api.register("bob", email="alice@example.org")
    assert User.objects.get(username="bob").email_hash == stored


def test_password_is_argon2id_phc(api: Api) -> None:
    api.register("alice")
    assert User.objects.get(username="alice").password.startswith("$argon2id$v=19$")


class TestMalformedBodies:
    def test_missing_field_is_422(self, api: Api) -> None:
        body = register_body("alice")
        del body["identity_key"]
        response = api.post("/api/v1/auth/register", body)
        assert response.status_code == 422
        assert response.json()["status"] == 422
        assert "identity_key" in response.json()["error"]

    def test_null_for_required_field_is_422(self, api: Api) -> None:
        response = api.post("/api/v1/auth/register", register_body("alice", password=None))
        assert response.status_code == 422

    def test_wrong_type_is_422(self, api: Api) -> None:
        response = api.post("/api/v1/auth/register", dict(register_body("alice"), username=12345))
        assert response.status_code == 422
        response = api.post("/api/v1/auth/register", register_body("alice", one_time_prekeys="x"))
        assert response.status_code == 422

    def test_not_json_is_400(self, api: Api) -> None:
        response = api.post("/api/v1/auth/login", raw=b"{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"].startswith("Failed to parse the request body as JSON")

    def test_empty_body_with_json_type_is_400(self, api: Api) -> None:
        response = api.post("/api/v1/auth/login", raw=b"", content_type="application/json")
        assert response.status_code == 400

    def test_missing_content_type_is_415(self, api: Api) -> None:
        response = api.post("/api/v1/auth/login", raw=b'{"a":1}', content_type="text/plain")
        assert response.status_code == 415
        assert response.json() == {
            "error": "Expected request with `Content-Type: application/json`",
            "status": 415,
        }

    def test_json_array_is_422(self, api: Api) -> None:
        response = api.post("/api/v1/auth/login", [1, 2])
        assert response.status_code == 422

    def test_unknown_fields_are_ignored(self, api: Api) -> None:
        response = api.post("/api/v1/auth/register", register_body("alice", surprise=True))
        assert response.status_code == 200

    def test_oversize_body_is_413(self, api: Api) -> None:
        body = register_body("alice", display_name="x" * (3 * 1024 * 1024))
        response = api.post("/api/v1/auth/register", body)
        assert response.status_code == 413
        assert response.json()["status"] == 413
        assert not User.objects.exists()


class TestLogin:
    def test_login_is_case_insensitive(self, api: Api) -> None:
        api.register("Alice")
        response = api.post("/api/v1/auth/login", {"username": "aLiCe", "password": PASSWORD})
        assert response.status_code == 200
        assert response.json()["user"]["username"] == "Alice"

    @pytest.mark.parametrize("username", ["alice", "nobody"])
    def test_wrong_credentials(self, api: Api, username: str) -> None:
        api.register("alice")
        response = api.post("/api/v1/auth/login", {"username": username, "password": "wrong-pass"})
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid username or password", "status": 401}


class TestProofOfWork:
    def test_challenge_shape(self, api: Api) -> None:
        with haven_settings(pow_difficulty=20):
            response = api.get("/api/v1/auth/challenge")
        assert response.status_code == 200
        data = response.json()
        assert data["difficulty"] == 20
        assert len(data["challenge"]) == 36
        assert "turnstile_site_key" not in data

    def test_solved_challenge_registers_once(self, api: Api) -> None:
        with haven_settings(pow_difficulty=8):
            challenge = api.get("/api/v1/auth/challenge").json()["challenge"]
            nonce = pow.solve(challenge, 8)
            body = register_body("alice", pow_challenge=challenge, pow_nonce=nonce)
            assert api.post("/api/v1/auth/register", body).status_code == 200
            again = api.post("/api/v1/auth/register", dict(body, username="bob"))
        assert again.status_code == 400
        assert again.json()["error"] == (
            "Invalid or expired PoW challenge — request a new one from /auth/challenge"
        )

    def test_wrong_solution_consumes_challenge(self, api: Api) -> None:
        with haven_settings(pow_difficulty=16):
            challenge = api.get("/api/v1/auth/challenge").json()["challenge"]
            bad_nonce = next(
                str(n) for n in range(10**6) if not pow.solution_valid(challenge, str(n), 16)
            )
            body = register_body("alice", pow_challenge=challenge, pow_nonce=bad_nonce)
            response = api.post("/api/v1/auth/register", body)
            assert response.json()["error"] == "Invalid Proof-of-Work solution"
            good = dict(body, pow_nonce=pow.solve(challenge, 16))
            assert api.post("/api/v1/auth/register", good).status_code == 400
        assert not User.objects.exists()

    def test_missing_solution_when_required_is_422(self, api: Api) -> None:
        with haven_settings(pow_difficulty=8):
            response = api.post("/api/v1/auth/register", register_body("alice"))
        assert response.status_code == 422


def test_leading_zero_bits() -> None:
    assert pow.leading_zero_bits(bytes([0, 0, 0x10])) == 19
    assert pow.leading_zero_bits(bytes([0x80])) == 0
    assert pow.leading_zero_bits(bytes([0, 1])) == 15
