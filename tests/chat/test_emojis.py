"""Custom emojis (api.md 2.19): limits, names, formats, events, public images."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import CustomEmoji
from chat.permissions import Permission
from haven_site import blobs
from realtime.events import capture_events, to_servers
from tests.factories import (
    GIF,
    JPEG,
    PNG,
    WEBP,
    add_member,
    add_role,
    animated_gif,
    make_server,
)
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.usefixtures("media_root")


def emojis_url(server: Any, name: str | None = None) -> str:
    base = f"/api/v1/servers/{server.id}/emojis"
    return base if name is None else f"{base}?name={name}"


@pytest.fixture
def owned(api: Api) -> Any:
    alice = api.register("alice")
    return make_server(alice.id).server


def test_upload_list_and_image(
    api: Api, owned: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with capture_events() as events, django_capture_on_commit_callbacks(execute=True):
        response = api.as_("alice").post(emojis_url(owned, "party_parrot"), raw=PNG)
    assert response.status_code == 200
    emoji = response.json()
    assert emoji["name"] == "party_parrot"
    assert emoji["server_id"] == str(owned.id)
    assert emoji["uploaded_by"] == api.users["alice"].id
    assert emoji["animated"] is False
    assert emoji["image_url"] == f"/api/v1/servers/{owned.id}/emojis/{emoji['id']}/image"
    assert set(emoji) == {
        "id", "server_id", "name", "uploaded_by", "animated", "image_url", "created_at",
    }  # fmt: skip
    assert [(e.type, e.payload, e.audience) for e in events] == [
        ("EmojiCreated", {"server_id": str(owned.id), "emoji": emoji}, to_servers(owned.id))
    ]
    listed = api.as_("alice").get(emojis_url(owned))
    assert listed.json() == [emoji]
    image = api.get(emoji["image_url"], token="")
    assert image.status_code == 200
    assert image.content == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Cache-Control"] == "public, max-age=86400"
    stored = blobs.path_of(blobs.emoji_key(owned.id, emoji["id"])).read_bytes()
    assert stored != PNG


def test_gifs_count_as_animated_and_webp_is_refused(api: Api, owned: Any) -> None:
    response = api.as_("alice").post(emojis_url(owned, "dance"), raw=animated_gif())
    assert response.json()["animated"] is True
    assert api.get(response.json()["image_url"]).headers["Content-Type"] == "image/gif"
    assert api.as_("alice").post(emojis_url(owned, "jpeg"), raw=JPEG).status_code == 200
    webp = api.as_("alice").post(emojis_url(owned, "webp"), raw=WEBP)
    assert webp.status_code == 400
    assert webp.json()["error"] == "Invalid image format. Only PNG, JPEG, and GIF are supported"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a", "Emoji name must be at least 2 characters"),
        ("%20%20a%20", "Emoji name must be at least 2 characters"),
        ("x" * 65, "Emoji name is too long (max 64 characters)"),
        ("bad-name", "Emoji name can only contain letters, numbers, and underscores"),
        ("caf%C3%A9", "Emoji name can only contain letters, numbers, and underscores"),
    ],
)
def test_name_rules(api: Api, owned: Any, name: str, message: str) -> None:
    response = api.as_("alice").post(emojis_url(owned, name), raw=PNG)
    assert (response.status_code, response.json()["error"]) == (400, message)


def test_upload_errors_in_order(api: Api, owned: Any) -> None:
    api.register("bob")
    add_member(owned, api.users["bob"].id)
    client = api.as_("alice")
    missing_name = client.post(emojis_url(owned), raw=PNG)
    assert missing_name.status_code == 400
    assert missing_name.json()["error"].startswith("Failed to deserialize query string")
    forbidden = api.as_("bob").post(emojis_url(owned, "ok_name"), raw=PNG)
    assert (forbidden.status_code, forbidden.json()["error"]) == (
        403,
        "Missing required permission",
    )
    unknown = client.post("/api/v1/servers/00000000-0000-4000-8000-000000000000/emojis?name=ab")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Server not found")
    assert client.post(emojis_url(owned, "ok_name"), raw=b"").json()["error"] == (
        "No image data provided"
    )
    big = client.post(emojis_url(owned, "ok_name"), raw=PNG + b"\0" * 262_144)
    assert big.json()["error"] == "Emoji too large (max 256KB)"
    assert client.post(emojis_url(owned, "ok_name"), raw=b"GIF8 broken").json()["error"] == (
        "Invalid image data"
    )
    assert client.post(emojis_url(owned, "ok_name"), raw=PNG).status_code == 200
    duplicate = client.post(emojis_url(owned, "ok_name"), raw=PNG)
    assert duplicate.json()["error"] == "An emoji named 'ok_name' already exists in this server"


def test_write_limiter_comes_first(api: Api, owned: Any) -> None:
    with haven_settings(rate_limits_enabled=True):
        for _ in range(30):
            api.as_("alice").post(emojis_url(owned, "x"), raw=PNG)
        response = api.as_("alice").post(emojis_url(owned, "fine_name"), raw=PNG)
    assert response.json()["error"] == "Rate limit exceeded — try again later"


def test_slot_limits(api: Api, owned: Any) -> None:
    CustomEmoji.objects.bulk_create(
        [CustomEmoji(server=owned, name=f"static_{i}") for i in range(25)]
        + [CustomEmoji(server=owned, name=f"moving_{i}", animated=True) for i in range(10)]
    )
    static = api.as_("alice").post(emojis_url(owned, "one_more"), raw=PNG)
    assert static.json()["error"] == "Server has reached the static emoji limit (25/25)"
    animated = api.as_("alice").post(emojis_url(owned, "one_more"), raw=GIF)
    assert animated.json()["error"] == "Server has reached the animated emoji limit (10/10)"


def test_list_needs_membership(api: Api, owned: Any) -> None:
    api.register("mallory")
    response = api.as_("mallory").get(emojis_url(owned))
    assert (response.status_code, response.json()["error"]) == (403, "Not a server member")


def test_rename(api: Api, owned: Any) -> None:
    first = api.as_("alice").post(emojis_url(owned, "first"), raw=PNG).json()
    api.as_("alice").post(emojis_url(owned, "second"), raw=PNG)
    url = f"{emojis_url(owned)}/{first['id']}"
    renamed = api.as_("alice").patch(url, {"name": "  renamed  "})
    assert renamed.status_code == 200
    assert renamed.json() == {**first, "name": "renamed"}
    assert api.as_("alice").patch(url, {"name": "x"}).json()["error"] == (
        "Emoji name must be at least 2 characters"
    )
    assert api.as_("alice").patch(url, {"name": "y" * 65}).status_code == 400
    duplicate = api.as_("alice").patch(url, {"name": "second"})
    assert duplicate.json()["error"] == "An emoji named 'second' already exists in this server"
    other = f"{emojis_url(owned)}/00000000-0000-4000-8000-000000000000"
    assert api.as_("alice").patch(other, {"name": "fine"}).json()["error"] == "Emoji not found"
    assert api.as_("alice").patch(url, {}).status_code == 422


def test_delete(api: Api, owned: Any, django_capture_on_commit_callbacks: Any) -> None:
    emoji = api.as_("alice").post(emojis_url(owned, "doomed"), raw=PNG).json()
    url = f"{emojis_url(owned)}/{emoji['id']}"
    with capture_events() as events, django_capture_on_commit_callbacks(execute=True):
        response = api.as_("alice").delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert [(e.type, e.payload) for e in events] == [
        ("EmojiDeleted", {"server_id": str(owned.id), "emoji_id": emoji["id"]})
    ]
    assert not blobs.exists(blobs.emoji_key(owned.id, emoji["id"]))
    assert api.get(emoji["image_url"]).json()["error"] == "Emoji not found"
    assert api.as_("alice").delete(url).json()["error"] == "Emoji not found"


def test_an_emoji_of_another_server_is_not_touched(api: Api, owned: Any) -> None:
    bob = api.register("bob")
    theirs = make_server(bob.id).server
    emoji = api.as_("bob").post(emojis_url(theirs, "mine"), raw=PNG).json()
    response = api.as_("alice").delete(f"{emojis_url(owned)}/{emoji['id']}")
    assert (response.status_code, response.json()["error"]) == (404, "Emoji not found")
    assert CustomEmoji.objects.filter(id=emoji["id"]).exists()
    wrong_server_image = f"/api/v1/servers/{owned.id}/emojis/{emoji['id']}/image"
    assert api.get(wrong_server_image).json()["error"] == "Emoji not found"


def test_manage_emojis_role(api: Api, owned: Any) -> None:
    bob = api.register("bob")
    add_member(owned, bob.id)
    add_role(owned, bob.id, Permission.MANAGE_EMOJIS)
    assert api.as_("bob").post(emojis_url(owned, "bobs"), raw=PNG).status_code == 200


def test_missing_blob(api: Api, owned: Any) -> None:
    emoji = api.as_("alice").post(emojis_url(owned, "lost"), raw=PNG).json()
    blobs.delete(blobs.emoji_key(owned.id, emoji["id"]))
    assert api.get(emoji["image_url"]).json() == {"error": "Emoji file not found", "status": 404}


def test_list_runs_a_fixed_number_of_queries(
    api: Api, owned: Any, django_assert_max_num_queries: Any
) -> None:
    CustomEmoji.objects.bulk_create(CustomEmoji(server=owned, name=f"e_{i}") for i in range(20))
    with django_assert_max_num_queries(6):
        response = api.as_("alice").get(emojis_url(owned))
    assert len(response.json()) == 20
