"""The key directory (api.md 2.5): identity keys, one-time prekeys, bundles, key backup."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import KeyBackup, PreKey
from tests.helpers import PASSWORD, Api, b64

pytestmark = pytest.mark.django_db


def identity_body(seed: str) -> dict[str, str]:
    return {
        "identity_key": b64(f"identity-{seed}".encode()),
        "signed_prekey": b64(f"spk-{seed}".encode()),
        "signed_prekey_signature": b64(f"sig-{seed}".encode()),
    }


# --- Bundles ------------------------------------------------------------------------------------


def test_bundle_hands_out_each_one_time_prekey_once(api: Api) -> None:
    alice = api.register("alice")
    api.register("bob")
    as_bob = api.as_("bob")
    seen = []
    for _ in range(3):
        bundle = as_bob.get(f"/api/v1/users/{alice.id}/keys").json()
        assert set(bundle) == {
            "identity_key", "signed_prekey", "signed_prekey_sig", "one_time_prekey",
        }  # fmt: skip
        assert bundle["identity_key"] == b64(b"identity-alice")
        assert bundle["signed_prekey"] == b64(b"signed-prekey-alice")
        assert bundle["signed_prekey_sig"] == b64(b"signature-alice")
        seen.append(bundle["one_time_prekey"])
    assert seen == [b64(f"otp-alice-{i}".encode()) for i in range(3)]  # oldest first
    assert as_bob.get(f"/api/v1/users/{alice.id}/keys").json()["one_time_prekey"] is None
    assert PreKey.objects.filter(user_id=alice.id, used=False).count() == 0


def test_bundle_of_unknown_user(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").get(f"/api/v1/users/{uuid.uuid4()}/keys")
    assert response.json() == {"error": "User not found", "status": 404}
    assert api.as_("alice").get("/api/v1/users/nope/keys").status_code == 400


def test_login_does_not_wipe_one_time_prekeys(api: Api) -> None:
    alice = api.register("alice")
    response = api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert PreKey.objects.filter(user_id=alice.id, used=False).count() == 3


# --- Identity -----------------------------------------------------------------------------------


def test_put_identity(api: Api) -> None:
    alice = api.register("alice")
    response = api.as_("alice").put("/api/v1/keys/identity", identity_body("new"))
    assert response.json() == {"message": "Keys updated"}
    bundle = api.as_("alice").get(f"/api/v1/users/{alice.id}/keys").json()
    assert bundle["identity_key"] == b64(b"identity-new")
    assert bundle["signed_prekey_sig"] == b64(b"sig-new")


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("identity_key", "Invalid identity_key encoding"),
        ("signed_prekey", "Invalid signed_prekey encoding"),
        ("signed_prekey_signature", "Invalid signed_prekey_signature encoding"),
    ],
)
def test_put_identity_encoding_errors(api: Api, field: str, error: str) -> None:
    api.register("alice")
    body = {**identity_body("x"), field: "not base64"}
    response = api.as_("alice").put("/api/v1/keys/identity", body)
    assert response.json() == {"error": error, "status": 400}


def test_put_identity_missing_field_is_422(api: Api) -> None:
    api.register("alice")
    body = identity_body("x")
    del body["signed_prekey"]
    assert api.as_("alice").put("/api/v1/keys/identity", body).status_code == 422


# --- One-time prekeys ---------------------------------------------------------------------------


def test_upload_count_and_clear_prekeys(api: Api) -> None:
    alice = api.register("alice")
    as_alice = api.as_("alice")
    assert as_alice.get("/api/v1/keys/prekeys/count").json() == {
        "count": 3,
        "needs_replenishment": True,
    }
    uploaded = as_alice.post(
        "/api/v1/keys/prekeys", {"prekeys": [b64(f"k{i}".encode()) for i in range(100)]}
    )
    assert uploaded.json() == {"message": "Prekeys uploaded", "total_available": 103}
    key_ids = list(PreKey.objects.filter(user_id=alice.id).values_list("key_id", flat=True))
    assert len(set(key_ids)) == 103
    assert as_alice.get("/api/v1/keys/prekeys/count").json() == {
        "count": 103,
        "needs_replenishment": False,
    }
    api.register("bob")
    api.as_("bob").get(f"/api/v1/users/{alice.id}/keys")  # one is used
    cleared = as_alice.delete("/api/v1/keys/prekeys")
    assert cleared.json() == {"message": "Unused prekeys cleared", "deleted": 102}
    assert PreKey.objects.filter(user_id=alice.id).count() == 1  # the used one stays


@pytest.mark.parametrize(
    ("prekeys", "error"),
    [
        ([], "No prekeys provided"),
        ([b64(b"k")] * 101, "Maximum 100 prekeys per upload"),
        ([b64(b"k"), b64(b"k"), "bad!"], "Invalid prekey encoding at index 2"),
    ],
)
def test_upload_prekey_errors_store_nothing(api: Api, prekeys: list, error: str) -> None:
    api.register("alice")
    response = api.as_("alice").post("/api/v1/keys/prekeys", {"prekeys": prekeys})
    assert response.json() == {"error": error, "status": 400}
    assert PreKey.objects.count() == 3


# --- Key backup ---------------------------------------------------------------------------------


def backup_body(**change: object) -> dict[str, object]:
    return {
        "encrypted_data": b64(b"secret keys"),
        "nonce": b64(b"n" * 24),
        "salt": b64(b"s" * 16),
        **change,
    }


def test_key_backup_round_trip(api: Api) -> None:
    api.register("alice")
    as_alice = api.as_("alice")
    assert as_alice.get("/api/v1/keys/backup").json() == {
        "error": "No key backup found",
        "status": 404,
    }
    assert as_alice.get("/api/v1/keys/backup/status").json() == {
        "has_backup": False,
        "version": None,
        "updated_at": None,
    }
    assert as_alice.put("/api/v1/keys/backup", backup_body()).json() == {"ok": True}
    stored = as_alice.get("/api/v1/keys/backup").json()
    assert stored == {
        "encrypted_data": b64(b"secret keys"),
        "nonce": b64(b"n" * 24),
        "salt": b64(b"s" * 16),
        "version": 1,
        "updated_at": stored["updated_at"],
    }
    as_alice.put("/api/v1/keys/backup", backup_body(version=7, encrypted_data=b64(b"v7")))
    assert KeyBackup.objects.count() == 1
    status = as_alice.get("/api/v1/keys/backup/status").json()
    assert (status["has_backup"], status["version"]) == (True, 7)
    assert status["updated_at"].endswith("Z")
    # Owner only: another user sees their own (absent) backup.
    api.register("bob")
    assert api.as_("bob").get("/api/v1/keys/backup").status_code == 404
    assert as_alice.delete("/api/v1/keys/backup").json() == {"ok": True}
    assert as_alice.delete("/api/v1/keys/backup").json() == {"ok": True}  # idempotent
    assert not KeyBackup.objects.exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"encrypted_data": "x"}, "Invalid encrypted_data encoding"),
        ({"nonce": "x", "salt": "y"}, "Invalid nonce encoding"),
        ({"salt": "y"}, "Invalid salt encoding"),
        ({"nonce": b64(b"n" * 23), "salt": b64(b"s")}, "Nonce must be 24 bytes"),
        ({"salt": b64(b"s" * 17)}, "Salt must be 16 bytes"),
        ({"encrypted_data": b64(b"d" * (512 * 1024 + 1))}, "Backup too large (max 512KB)"),
    ],
)
def test_key_backup_errors_in_order(api: Api, change: dict, error: str) -> None:
    api.register("alice")
    response = api.as_("alice").put("/api/v1/keys/backup", backup_body(**change))
    assert response.json() == {"error": error, "status": 400}
    assert not KeyBackup.objects.exists()


def test_key_backup_of_exactly_512_kib(api: Api) -> None:
    api.register("alice")
    body = backup_body(encrypted_data=b64(b"d" * 512 * 1024))
    assert api.as_("alice").put("/api/v1/keys/backup", body).status_code == 200
