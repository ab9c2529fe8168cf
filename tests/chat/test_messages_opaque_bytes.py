"""The server is a blind relay: every encrypted or key field comes back as the exact bytes sent."""

from __future__ import annotations

import os
import uuid

import pytest

from accounts.models import PreKey
from chat.actions import messages
from tests.factories import (
    befriend,
    users,
)
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db


def blob(size: int) -> bytes:
    return os.urandom(size)


def test_every_encrypted_field_round_trips_exactly(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    befriend(alice, bob)
    as_alice, as_bob = api.as_("alice"), api.as_("bob")

    # DM metadata.
    meta = blob(300)
    dm = as_alice.post("/api/v1/dm", {"target_user_id": str(bob.id), "encrypted_meta": b64(meta)})
    channel_id = dm.json()["id"]
    assert dm.json()["encrypted_meta"] == b64(meta)
    assert as_bob.get("/api/v1/dm").json()[0]["encrypted_meta"] == b64(meta)

    # Messages over REST and over the WebSocket action, including empty and edge bytes.
    sent = []
    for token, body in [
        (blob(64), blob(1000)),
        (b"", b""),
        (b"\x00" * 16, b"\xff" * 8192),
        (blob(1), blob(65536)),
    ]:
        response = as_alice.post(
            f"/api/v1/channels/{channel_id}/messages",
            {
                "channel_id": channel_id,
                "sender_token": b64(token),
                "encrypted_body": b64(body),
                "has_attachments": False,
            },
        )
        assert response.status_code == 200, response
        assert (response.json()["sender_token"], response.json()["encrypted_body"]) == (
            b64(token),
            b64(body),
        )
        sent.append((token, body))
    ws_token, ws_body = blob(200), blob(8192)
    messages.do_send_message(
        bob,
        uuid.UUID(channel_id),
        sender_token=b64(ws_token),
        encrypted_body=b64(ws_body),
        via_websocket=True,
    )
    sent.append((ws_token, ws_body))
    history = as_bob.get(f"/api/v1/channels/{channel_id}/messages").json()
    assert [(m["sender_token"], m["encrypted_body"]) for m in reversed(history)] == [
        (b64(t), b64(b)) for t, b in sent
    ]
    edited = blob(777)
    messages.do_edit_message(alice, uuid.UUID(history[-1]["id"]), b64(edited))
    history = as_bob.get(f"/api/v1/channels/{channel_id}/messages").json()
    assert history[-1]["encrypted_body"] == b64(edited)

    # Encrypted profile and profile keys.
    profile = blob(2048)
    as_alice.put("/api/v1/users/profile", {"encrypted_profile": b64(profile)})
    assert as_bob.get(f"/api/v1/users/{alice.id}/profile").json()["encrypted_profile"] == b64(
        profile
    )
    assert as_bob.get("/api/v1/users/search?username=alice").json()["encrypted_profile"] == b64(
        profile
    )
    profile_key = blob(80)
    as_alice.put(
        "/api/v1/users/profile-keys",
        {"distributions": [{"to_user_id": str(bob.id), "encrypted_profile_key": b64(profile_key)}]},
    )
    got = as_bob.get(f"/api/v1/users/{alice.id}/profile-key").json()["encrypted_profile_key"]
    assert got == b64(profile_key)

    # Sender keys.
    skdm = blob(500)
    as_alice.post(
        f"/api/v1/channels/{channel_id}/sender-keys",
        {
            "distributions": [
                {
                    "to_user_id": str(bob.id),
                    "distribution_id": str(uuid.uuid4()),
                    "encrypted_skdm": b64(skdm),
                }
            ]
        },
    )
    inbox = as_bob.get(f"/api/v1/channels/{channel_id}/sender-keys").json()
    assert inbox[0]["encrypted_skdm"] == b64(skdm)

    # Key backup.
    data, nonce, salt = blob(512 * 1024), blob(24), blob(16)
    as_alice.put(
        "/api/v1/keys/backup",
        {"encrypted_data": b64(data), "nonce": b64(nonce), "salt": b64(salt), "version": 3},
    )
    backup = as_alice.get("/api/v1/keys/backup").json()
    assert (backup["encrypted_data"], backup["nonce"], backup["salt"]) == (
        b64(data),
        b64(nonce),
        b64(salt),
    )

    # Identity key, signed prekey and its signature, one-time prekeys.
    identity, signed, signature = blob(33), blob(33), blob(64)
    as_alice.put(
        "/api/v1/keys/identity",
        {
            "identity_key": b64(identity),
            "signed_prekey": b64(signed),
            "signed_prekey_signature": b64(signature),
        },
    )
    PreKey.objects.filter(user=alice).delete()
    prekeys = [blob(33) for _ in range(3)]
    as_alice.post("/api/v1/keys/prekeys", {"prekeys": [b64(k) for k in prekeys]})
    handed = []
    for _ in prekeys:
        bundle = as_bob.get(f"/api/v1/users/{alice.id}/keys").json()
        assert (bundle["identity_key"], bundle["signed_prekey"], bundle["signed_prekey_sig"]) == (
            b64(identity),
            b64(signed),
            b64(signature),
        )
        handed.append(bundle["one_time_prekey"])
    assert handed == [b64(k) for k in prekeys]
    members = as_bob.get(f"/api/v1/channels/{channel_id}/members/keys").json()
    assert members == [{"user_id": str(alice.id), "identity_key": b64(identity)}]
