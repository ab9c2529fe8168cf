"""What chat does when accounts announces a change (``accounts.hooks``); connected in
``chat.apps.ChatConfig.ready``, before voice's handlers (``INSTALLED_APPS`` order)."""

from __future__ import annotations

from accounts import hooks
from chat.actions.friends import do_end_friendship_on_block
from chat.actions.sender_keys import drop_sealed_keys_for
from chat.actions.servers import delete_server
from chat.models import Server
from chat.presence import audience_of, login_session_ended, presence_frame_payload, user_signed_out
from chat.storage import attachment_ids_of_user, delete_attachment_blobs_on_commit
from realtime.events import control, publish, to_users


def tell_sockets_account_deleted(deleting: hooks.UserDeleting) -> None:
    """First after commit: the user's sockets get ``Error "Account deleted"`` before any
    ``close`` reaches them."""
    publish("Error", {"message": "Account deleted"}, to_users(deleting.user.id))


def delete_what_the_user_owns(deleting: hooks.UserDeleting) -> None:
    """Owned servers (with their content and files) and the user's attachments go; then everyone
    who saw the user's presence hears "offline", and the user's sockets are closed. An owned
    server goes as when its owner deletes it (its members hear ``ServerDeleted``, and its voice
    channels empty, LiveKit rooms included): the original deleted it silently, which left the
    members' clients showing a server that no longer exists."""
    user_id = deleting.user.id
    audience = audience_of(user_id)  # before the memberships go
    delete_attachment_blobs_on_commit(attachment_ids_of_user(user_id))
    for server in Server.objects.filter(owner_id=user_id):
        delete_server(server)
    publish("PresenceUpdate", presence_frame_payload(user_id, None), audience)
    control("close", to_users(user_id), code=1008, announce=False)


def end_friendship(block: hooks.UserBlocked) -> None:
    do_end_friendship_on_block(block.blocker, block.blocked_id)


def drop_sealed_sender_keys(change: hooks.IdentityKeyChanged) -> None:
    drop_sealed_keys_for(change.user_id)


def connect() -> None:
    hooks.user_leaving.connect(tell_sockets_account_deleted)
    hooks.user_deleting.connect(delete_what_the_user_owns)
    hooks.signed_out.connect(user_signed_out)
    hooks.login_session_ended.connect(login_session_ended)
    hooks.user_blocked.connect(end_friendship)
    hooks.identity_key_changed.connect(drop_sealed_sender_keys)
