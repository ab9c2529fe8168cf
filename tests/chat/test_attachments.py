"""Attachments (api.md 2.21, operations.md 5): streamed, encrypted at rest, downloadable only by
readers of a channel where they were posted, and deleted with their messages or as orphans."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone

from chat.models import Attachment, Message, PermissionOverwrite
from chat.permissions import DEFAULT_EVERYONE, Permission
from chat.storage import collect_orphans, delete_attachment_blobs_on_commit
from haven_site import blobs
from haven_site.asgi import application
from tests.factories import (
    add_member,
    link,
    make_dm,
    make_server,
    post,
    text_channel,
)
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.usefixtures("media_root")

PAYLOAD = os.urandom(200_000) + b"end-to-end ciphertext"


def upload(api: Api, user: str, data: bytes = PAYLOAD) -> dict:
    response = api.as_(user).post("/api/v1/attachments/upload", raw=data)
    assert response.status_code == 200, response
    return response.json()


def test_upload_creates_a_row_bound_to_the_uploader(api: Api) -> None:
    alice = api.register("alice")
    body = upload(api, "alice")
    assert set(body) == {"attachment_id", "storage_key"}
    attachment = Attachment.objects.get(id=body["attachment_id"])
    assert str(attachment.uploader_id) == alice.id
    assert attachment.message_id is None
    assert attachment.size == len(PAYLOAD)
    assert body["storage_key"] == attachment.storage_key == blobs.attachment_key(attachment.id)
    prefix, rest = body["storage_key"].split("/")
    assert len(prefix) == 2
    assert len(rest) == 62


def test_bytes_at_rest_are_encrypted_and_names_hide_the_id(api: Api, media_root: Path) -> None:
    api.register("alice")
    body = upload(api, "alice")
    files = [p for p in media_root.rglob("*") if p.is_file()]
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert stored != PAYLOAD
    assert PAYLOAD[:64] not in stored
    assert b"end-to-end ciphertext" not in stored
    attachment_id = body["attachment_id"]
    relative = str(files[0].relative_to(media_root))
    assert attachment_id not in relative
    assert attachment_id.replace("-", "") not in relative
    assert relative == body["storage_key"]
    assert b"".join(blobs.StreamReader(body["storage_key"]).chunks()) == PAYLOAD


def test_empty_upload(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").post("/api/v1/attachments/upload", raw=b"")
    assert response.status_code == 400
    assert response.json() == {"error": "Empty upload body", "status": 400}
    assert Attachment.objects.count() == 0


def test_upload_over_the_configured_maximum(api: Api, media_root: Path) -> None:
    api.register("alice")
    with haven_settings(max_upload_size_bytes=10):
        response = api.as_("alice").post("/api/v1/attachments/upload", raw=b"x" * 11)
    assert response.status_code == 400
    assert response.json()["error"] == "File too large (max 10 bytes)"
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_upload_needs_authentication(api: Api) -> None:
    response = api.post("/api/v1/attachments/upload", raw=b"data")
    assert response.status_code == 401


def test_write_limiter_comes_first(api: Api) -> None:
    api.register("alice")
    with haven_settings(rate_limits_enabled=True):
        for _ in range(30):
            assert api.as_("alice").post("/api/v1/attachments/upload", raw=b"x").status_code == 200
        response = api.as_("alice").post("/api/v1/attachments/upload", raw=b"")
    assert response.status_code == 400
    assert response.json()["error"] == "Rate limit exceeded — try again later"


# --- Download ---------------------------------------------------------------------------------


def posted(api: Api, owner: str = "alice") -> tuple[str, Message]:
    """An upload by ``owner`` posted in the text channel of a new server of theirs."""
    server = make_server(api.users[owner].id).server
    message = post(text_channel(server), api.users[owner].id)
    body = upload(api, owner)
    link(body["attachment_id"], message)
    return body["attachment_id"], message


def test_download_by_a_reader_of_the_channel(api: Api) -> None:
    api.register("alice")
    bob = api.register("bob")
    attachment_id, message = posted(api)
    assert message.channel.server is not None
    add_member(message.channel.server, bob.id)
    response = api.as_("bob").get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(len(PAYLOAD))
    assert response.content == PAYLOAD


@pytest.mark.django_db(transaction=True)
async def test_download_streams_through_the_asgi_application(api: Api) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(api.register)("alice")
    attachment_id, _ = await sync_to_async(posted)(api)
    token = api.users["alice"].access_token
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            f"/api/v1/attachments/{attachment_id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    assert response.content == PAYLOAD
    await sync_to_async(connections.close_all)()  # the worker thread's connection


def test_download_of_an_unsent_or_unknown_attachment(api: Api) -> None:
    api.register("alice")
    body = upload(api, "alice")
    for attachment_id in (body["attachment_id"], str(uuid.uuid4())):
        response = api.as_("alice").get(f"/api/v1/attachments/{attachment_id}")
        assert response.status_code == 404
        assert response.json()["error"] == "Attachment not found"


def test_download_refused_to_non_readers(api: Api) -> None:
    api.register("alice")
    api.register("mallory")
    attachment_id, _ = posted(api)
    response = api.as_("mallory").get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 403
    assert response.json()["error"] == "Not a member of this channel"


def test_download_needs_read_message_history(api: Api) -> None:
    api.register("alice")
    bob = api.register("bob")
    attachment_id, message = posted(api)
    server = message.channel.server
    assert server is not None
    add_member(server, bob.id)
    everyone = server.roles.get(is_default=True)
    PermissionOverwrite.objects.create(
        channel=message.channel,
        target_type="role",
        target_id=everyone.id,
        deny_bits=int(Permission.READ_MESSAGE_HISTORY),
    )
    response = api.as_("bob").get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 403
    # The owner still reads it.
    assert api.as_("alice").get(f"/api/v1/attachments/{attachment_id}").status_code == 200


def test_download_in_a_dm_for_its_members_only(api: Api) -> None:
    alice = api.register("alice")
    bob = api.register("bob")
    api.register("carol")
    dm = make_dm(alice.id, bob.id)
    body = upload(api, "alice")
    link(body["attachment_id"], post(dm, alice.id))
    assert api.as_("bob").get(f"/api/v1/attachments/{body['attachment_id']}").status_code == 200
    assert api.as_("carol").get(f"/api/v1/attachments/{body['attachment_id']}").status_code == 403


def test_download_of_an_expired_message(api: Api) -> None:
    alice = api.register("alice")
    server = make_server(alice.id).server
    message = post(text_channel(server), alice.id, expires_at=timezone.now() - timedelta(seconds=1))
    body = upload(api, "alice")
    link(body["attachment_id"], message)
    response = api.as_("alice").get(f"/api/v1/attachments/{body['attachment_id']}")
    assert response.status_code == 404
    assert response.json()["error"] == "Message not found"


def test_download_with_a_missing_blob(api: Api) -> None:
    api.register("alice")
    attachment_id, _ = posted(api)
    blobs.delete(blobs.attachment_key(attachment_id))
    response = api.as_("alice").get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 404
    assert response.json()["error"] == "Attachment file not found"


def test_download_with_a_tampered_blob(api: Api) -> None:
    api.register("alice")
    attachment_id, _ = posted(api)
    path = blobs.path_of(blobs.attachment_key(attachment_id))
    raw = bytearray(path.read_bytes())
    raw[40] ^= 1
    path.write_bytes(bytes(raw))
    response = api.as_("alice").get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "status": 500}


def test_download_with_a_malformed_id(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").get("/api/v1/attachments/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid URL")


# --- Deletion -----------------------------------------------------------------------------------


def test_blobs_go_with_their_messages_after_commit(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    api.register("alice")
    attachment_id, message = posted(api)
    key = blobs.attachment_key(attachment_id)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        delete_attachment_blobs_on_commit([attachment_id])
        message.delete()
        assert blobs.exists(key)  # not before the commit
    assert not blobs.exists(key)
    assert not Attachment.objects.filter(id=attachment_id).exists()


def test_a_rolled_back_deletion_keeps_the_blob(api: Api) -> None:
    api.register("alice")
    attachment_id, message = posted(api)
    key = blobs.attachment_key(attachment_id)

    def delete_then_fail() -> None:
        with transaction.atomic():
            delete_attachment_blobs_on_commit([attachment_id])
            message.delete()
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert blobs.exists(key)


def _deleting_actions() -> list[Any]:
    from accounts.models import User
    from chat.actions import channels, messages, servers

    def owner(message: Message) -> User:
        assert message.sender_id is not None
        return User.objects.get(id=message.sender_id)

    return [
        lambda m: messages.do_delete_message(owner(m), m.id),
        lambda m: messages.do_bulk_delete(owner(m), m.channel_id, [m.id]),
        lambda m: (
            Message.objects.filter(id=m.id).update(expires_at=timezone.now() - timedelta(1)),
            messages.purge_expired_messages(),
        ),
        lambda m: channels.do_delete_channel(owner(m), m.channel_id),
        lambda m: servers.do_delete_server(owner(m), m.channel.server_id),
    ]


@pytest.mark.parametrize("action", range(5), ids=["one", "bulk", "expiry", "channel", "server"])
def test_every_deletion_path_removes_the_files(
    api: Api, action: int, django_capture_on_commit_callbacks: Any
) -> None:
    api.register("alice")
    attachment_id, message = posted(api)
    key = blobs.attachment_key(attachment_id)
    with django_capture_on_commit_callbacks(execute=True):
        _deleting_actions()[action](message)
    assert not Message.objects.filter(id=message.id).exists()
    assert not blobs.exists(key)


def _age(path: Path, days: float) -> None:
    old = time.time() - days * 86400
    os.utime(path, (old, old))


def test_orphan_collection(
    api: Api,
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    api.register("alice")
    old_upload = upload(api, "alice")
    fresh_upload = upload(api, "alice")
    sent_id, _ = posted(api)
    Attachment.objects.filter(id=old_upload["attachment_id"]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    for key in (old_upload["storage_key"], blobs.attachment_key(sent_id)):
        _age(blobs.path_of(key), 2)
    # A blob whose row went by cascade (e.g. its server was deleted), and a crashed upload.
    stray = blobs.path_of(blobs.attachment_key(uuid.uuid4()))
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"leftover")
    _age(stray, 2)
    crashed = stray.parent / ".upload-abc"
    crashed.write_bytes(b"partial")
    _age(crashed, 2)

    assert collect_orphans(dry_run=True).unlinked_rows == 1
    assert Attachment.objects.filter(id=old_upload["attachment_id"]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        result = collect_orphans()
    assert result.unlinked_rows == 1
    assert result.files == 2
    assert not Attachment.objects.filter(id=old_upload["attachment_id"]).exists()
    assert not blobs.exists(old_upload["storage_key"])
    assert not stray.exists()
    assert not crashed.exists()
    assert blobs.exists(fresh_upload["storage_key"])  # younger than a day
    assert blobs.exists(blobs.attachment_key(sent_id))  # posted: referenced


def test_orphan_collection_command(
    api: Api, capsys: pytest.CaptureFixture[str], django_capture_on_commit_callbacks: Any
) -> None:
    api.register("alice")
    body = upload(api, "alice")
    Attachment.objects.filter(id=body["attachment_id"]).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("collect_orphan_uploads")
    assert "1 unsent upload" in capsys.readouterr().out
    assert not blobs.exists(body["storage_key"])


def test_account_deletion_removes_the_users_blobs(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    api.register("alice")
    attachment_id, _ = posted(api)
    pending = upload(api, "alice")
    from tests.factories import (
        PNG,
    )

    assert api.as_("alice").post("/api/v1/users/avatar", raw=PNG).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_("alice").post(
            "/api/v1/auth/delete-account", {"password": api.users["alice"].password}
        )
    assert response.status_code == 204
    assert not blobs.exists(blobs.attachment_key(attachment_id))
    assert not blobs.exists(pending["storage_key"])
    assert not blobs.exists(blobs.avatar_key(api.users["alice"].id))


def test_default_everyone_can_read_history() -> None:
    assert DEFAULT_EVERYONE & Permission.READ_MESSAGE_HISTORY
