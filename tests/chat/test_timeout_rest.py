"""A timeout silences the REST ways of adding to a server too (issue 10 item 5): custom emoji and
icon uploads, and invites. Attachment uploads belong to no server: the message that would carry
one into the server is what the timeout refuses."""

from __future__ import annotations

import pytest

from chat.models import Attachment, CustomEmoji, Message, Server
from chat.permissions import Permission
from invites.models import ServerInvite
from tests.chat.conftest import P, create_server, default_channel, grant, join
from tests.factories import (
    PNG,
)
from tests.helpers import Api, b64

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

TIMED_OUT = "You are timed out in this server"
STAFF = int(Permission.MANAGE_SERVER | Permission.MANAGE_EMOJIS | Permission.CREATE_INVITES)


@pytest.fixture
def sid(api: Api) -> str:
    """alice owns the server; bob is a member with a staff role below hers."""
    for name in ("alice", "bob"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")
    grant(api, "alice", server["id"], "bob", STAFF, position=2)
    return str(server["id"])


def time_out(api: Api, sid: str, seconds: int) -> None:
    bob = api.users["bob"].id
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/members/{bob}/timeout", {"duration_seconds": seconds}
    )
    assert response.status_code == 200, response


def error(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["error"]  # type: ignore[attr-defined]


def test_a_timed_out_member_uploads_no_emoji_or_icon_and_creates_no_invite(
    api: Api, sid: str
) -> None:
    bob = api.as_("bob")
    time_out(api, sid, 3600)
    assert error(bob.post(f"{P}/servers/{sid}/emojis?name=smile", raw=PNG)) == (403, TIMED_OUT)
    assert error(bob.post(f"{P}/servers/{sid}/icon", raw=PNG)) == (403, TIMED_OUT)
    assert error(bob.post(f"{P}/servers/{sid}/invites", {})) == (403, TIMED_OUT)
    assert not CustomEmoji.objects.exists()
    assert not Server.objects.get(id=sid).has_icon
    assert not ServerInvite.objects.filter(created_by__username="bob").exists()

    time_out(api, sid, 0)  # lifted: all of it works again
    assert bob.post(f"{P}/servers/{sid}/emojis?name=smile", raw=PNG).status_code == 200
    assert bob.post(f"{P}/servers/{sid}/icon", raw=PNG).status_code == 200
    assert bob.post(f"{P}/servers/{sid}/invites", {}).status_code == 200


def test_the_permission_check_comes_first(api: Api, sid: str) -> None:
    api.register("carol")
    join(api, "alice", sid, "carol")
    carol = api.users["carol"].id
    api.as_("alice").put(f"{P}/servers/{sid}/members/{carol}/timeout", {"duration_seconds": 60})
    denied = api.as_("carol").post(f"{P}/servers/{sid}/icon", raw=PNG)
    assert error(denied) == (403, "Missing MANAGE_SERVER permission")


def test_an_upload_reaches_the_server_only_through_a_message_which_is_refused(
    api: Api, sid: str
) -> None:
    time_out(api, sid, 3600)
    upload = api.as_("bob").post(f"{P}/attachments/upload", raw=b"encrypted file")
    assert upload.status_code == 200, upload  # bound to no server yet
    attachment = upload.json()["attachment_id"]
    channel = default_channel(api, "alice", sid)
    before = Message.objects.count()
    send = api.as_("bob").post(
        f"{P}/channels/{channel}/messages",
        {
            "channel_id": channel,
            "has_attachments": True,
            "sender_token": b64(b"token"),
            "encrypted_body": b64(b"body"),
            "attachment_ids": [attachment],
        },
    )
    assert error(send) == (403, TIMED_OUT)
    assert Message.objects.count() == before
    assert Attachment.objects.get(id=attachment).message_id is None
