"""Direct messages, group DMs, DM requests and DM privacy (api.md 2.12).

A one-to-one DM is ``active`` or, when the target's privacy setting does not let the caller in
directly, a ``pending`` request that the target accepts or declines. Additions to the spec
(docs/api-messages.md): the requester is remembered (``dm_initiator``) so only the target can
answer; a block in either direction stops opening a DM; a DM with oneself is refused; group
members must be the adder's friends; leaving a group drops what the leaver could still read.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery

from accounts.actions.blocks import blocked_either_way
from accounts.models import DmPrivacy, User
from chat.access import NOT_CHANNEL_MEMBER
from chat.actions.friends import are_friends, friend_ids
from chat.actions.messages import CANNOT_MESSAGE
from chat.actions.sender_keys import drop_sealed_keys_for
from chat.actions.servers import decode_meta
from chat.actions.system_messages import post_system_message
from chat.hooks import announce_access_change
from chat.models import Channel, ChannelMember, ChannelType, DmStatus, ReadState, ServerMember
from chat.storage import delete_message_files_on_commit
from haven_site.api.encoding import b64
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from realtime.events import control, publish, to_users

MAX_GROUP = 10  # members in total, the creator included
DM_PRIVACY_CHOICES = "dm_privacy must be 'everyone', 'friends_only', or 'server_members'"


def do_set_dm_privacy(user: User, value: str) -> str:
    if value not in DmPrivacy.values:
        raise BadRequest(DM_PRIVACY_CHOICES)
    User.objects.filter(id=user.id).update(dm_privacy=value)
    user.dm_privacy = value
    return value


def dm_channels(user: User) -> QuerySet[Channel]:
    """Every DM and group the user takes part in, whatever its status, newest first."""
    return Channel.objects.filter(
        channel_type__in=[ChannelType.DM, ChannelType.GROUP], members__user=user
    ).order_by("-created_at", "-id")


def dm_requests(user: User) -> QuerySet[Channel]:
    """Pending DMs the user takes part in (the ones they started too), newest first."""
    return Channel.objects.filter(
        channel_type=ChannelType.DM, dm_status=DmStatus.PENDING, members__user=user
    ).order_by("-created_at", "-id")


def _lock_pair(a: uuid.UUID, b: uuid.UUID) -> None:
    """Two simultaneous ``POST /dm`` between the same users must create one channel."""
    if connection.vendor != "postgresql":
        return  # SQLite: the IMMEDIATE transaction already holds the single write lock
    low, high = sorted([a, b])
    digest = hashlib.sha256(low.bytes + high.bytes).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _existing_dm(a: uuid.UUID, b: uuid.UUID) -> Channel | None:
    size = (
        ChannelMember.objects.filter(channel=OuterRef("pk"))
        .order_by()
        .values("channel")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        Channel.objects.filter(channel_type=ChannelType.DM, members__user_id=a)
        .filter(members__user_id=b)
        .annotate(size=Subquery(size))
        .filter(size=2)
        .order_by("created_at")
        .first()
    )


def _share_a_server(a: uuid.UUID, b: uuid.UUID) -> bool:
    theirs = ServerMember.objects.filter(user_id=b).values("server_id")
    return ServerMember.objects.filter(user_id=a, server_id__in=theirs).exists()


def _status_for(caller: User, target: User) -> str:
    if target.dm_privacy == DmPrivacy.EVERYONE:
        return DmStatus.ACTIVE
    if are_friends(caller.id, target.id):
        return DmStatus.ACTIVE
    if target.dm_privacy == DmPrivacy.SERVER_MEMBERS and _share_a_server(caller.id, target.id):
        return DmStatus.ACTIVE
    return DmStatus.PENDING


def do_open_dm(user: User, target_id: uuid.UUID, encrypted_meta: str) -> Channel:
    """The DM between the two (created when missing). A pending or declined DM that the *other*
    user requested becomes active when its target opens it: opening is answering."""
    target = User.objects.filter(id=target_id).first()
    if target is None:
        raise NotFound("User not found")
    if target.id == user.id:
        raise BadRequest("Cannot DM yourself")
    if blocked_either_way(user.id, target.id):
        raise Forbidden(CANNOT_MESSAGE)
    with transaction.atomic():
        _lock_pair(user.id, target.id)
        existing = _existing_dm(user.id, target.id)
        if existing is not None:
            if existing.dm_status != DmStatus.ACTIVE and existing.dm_initiator_id not in (
                None,
                user.id,
            ):
                existing.dm_status = DmStatus.ACTIVE
                existing.save(update_fields=["dm_status"])
            return existing
        status = _status_for(user, target)
        channel = Channel.objects.create(
            server=None,
            channel_type=ChannelType.DM,
            encrypted_meta=decode_meta(encrypted_meta),
            position=0,
            dm_status=status,
            dm_initiator=user,
        )
        ChannelMember.objects.bulk_create(
            [ChannelMember(channel=channel, user=user), ChannelMember(channel=channel, user=target)]
        )
        if status == DmStatus.PENDING:
            publish(
                "DmRequestReceived",
                {"channel_id": str(channel.id), "from_user_id": str(user.id)},
                to_users(target.id, user.id),  # the initiator's other devices too
            )
    return channel


def do_open_group(user: User, member_ids: Sequence[uuid.UUID], encrypted_meta: str) -> Channel:
    """A group DM of the caller and at least two friends, ten people at most. No event: members
    learn of it with its first message."""
    if len(member_ids) < 2:
        raise BadRequest("Group DM requires at least 2 other members")
    if len(member_ids) > MAX_GROUP - 1:
        raise BadRequest(f"Group DM can have at most {MAX_GROUP} members total")
    others = list(dict.fromkeys(m for m in member_ids if m != user.id))
    friends = friend_ids(user.id)
    for member in others:
        if member not in friends:
            raise BadRequest(f"User {member} is not your friend")
    if len(others) < 2:  # duplicates or the caller listed: still needs two other people
        raise BadRequest("Group DM requires at least 2 other members")
    meta = decode_meta(encrypted_meta)
    with transaction.atomic():
        channel = Channel.objects.create(
            server=None,
            channel_type=ChannelType.GROUP,
            encrypted_meta=meta,
            position=0,
            dm_status=DmStatus.ACTIVE,
        )
        ChannelMember.objects.bulk_create(
            [ChannelMember(channel=channel, user_id=m) for m in [user.id, *others]]
        )
    return channel


def _locked_channel(channel_id: uuid.UUID) -> Channel:
    channel = Channel.objects.select_for_update().filter(id=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found")
    return channel


def do_add_group_member(user: User, channel_id: uuid.UUID, target_id: uuid.UUID) -> None:
    with transaction.atomic():
        channel = _locked_channel(channel_id)
        if channel.channel_type != ChannelType.GROUP:
            raise BadRequest("Can only add members to group DM channels")
        members = set(
            ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True)
        )
        if user.id not in members:
            raise Forbidden(NOT_CHANNEL_MEMBER)
        if target_id in members:
            raise BadRequest("User is already a member")
        if len(members) >= MAX_GROUP:
            raise BadRequest(f"Group DM cannot have more than {MAX_GROUP} members")
        if not User.objects.filter(id=target_id).exists():
            raise NotFound("User not found")
        if target_id not in friend_ids(user.id):
            raise BadRequest(f"User {target_id} is not your friend")
        ChannelMember.objects.create(channel=channel, user_id=target_id)


def do_leave_group(user: User, channel_id: uuid.UUID) -> None:
    """The last one out deletes the group; otherwise a ``member_left`` system message. The leaver
    loses the sealed keys addressed to them there, and their sockets are told to re-check
    their subscriptions."""
    with transaction.atomic():
        channel = _locked_channel(channel_id)
        if channel.channel_type != ChannelType.GROUP:
            raise BadRequest("Can only leave group DM channels")
        if not ChannelMember.objects.filter(channel=channel, user=user).delete()[0]:
            raise Forbidden(NOT_CHANNEL_MEMBER)
        drop_sealed_keys_for(user.id, channel.id)
        ReadState.objects.filter(channel=channel, user=user).delete()
        if ChannelMember.objects.filter(channel=channel).exists():
            post_system_message(
                channel, "member_left", username=user.shown_name or "Someone", user_id=user.id
            )
        else:
            delete_message_files_on_commit(channel=channel)
            channel.delete()
        control("recheck", to_users(user.id), channel_id=str(channel_id))
        announce_access_change(None, user_ids=[user.id], channel_id=channel_id)


def do_rename_group(user: User, channel_id: uuid.UUID, encrypted_meta: str) -> Channel:
    """A port addition (docs/api-messages.md "Group DMs"): any participant replaces a group's
    meta (its name lives there, e2ee.md 8.1), and every participant's connections hear
    ``ChannelUpdated``. A meta equal to the current one changes nothing and sends nothing."""
    with transaction.atomic():
        channel = _locked_channel(channel_id)
        if channel.channel_type != ChannelType.GROUP:  # a 1:1 DM keeps the spec's refusal
            raise Forbidden("Cannot rename DM channels")
        members = list(
            ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True)
        )
        if user.id not in members:
            raise Forbidden(NOT_CHANNEL_MEMBER)
        meta = decode_meta(encrypted_meta)
        if bytes(channel.encrypted_meta) != meta:
            channel.encrypted_meta = meta
            channel.save(update_fields=["encrypted_meta"])
            payload = {"channel_id": str(channel.id), "encrypted_meta": b64(meta)}
            publish("ChannelUpdated", payload, to_users(members))
    return channel


def do_answer_dm_request(user: User, channel_id: uuid.UUID, action: str) -> str:
    """Only the target of the request answers it, not its requester. No event."""
    with transaction.atomic():
        channel = _locked_channel(channel_id)
        if channel.channel_type != ChannelType.DM:
            raise BadRequest("Not a DM channel")
        if channel.dm_status != DmStatus.PENDING:
            raise BadRequest("DM is not pending")
        if not ChannelMember.objects.filter(channel=channel, user=user).exists():
            raise Forbidden(NOT_CHANNEL_MEMBER)
        if channel.dm_initiator_id == user.id:
            raise Forbidden("Cannot answer your own DM request")
        if action == "accept":
            channel.dm_status = DmStatus.ACTIVE
        elif action == "decline":
            channel.dm_status = DmStatus.DECLINED
        else:
            raise BadRequest("action must be 'accept' or 'decline'")
        channel.save(update_fields=["dm_status"])
    return "DM request accepted" if action == "accept" else "DM request declined"
