"""JSON shapes of the conversation layer (api.md 1.9, 2.9-2.12, 2.24): friendships, reaction
groups, sender keys, read states and reports. Built by hand, like ``accounts.shapes``: explicit,
and fast to render."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from accounts.shapes import avatar_url
from chat.models import Friendship, Reaction, Report, SenderKeyDistribution
from haven_site.api.encoding import b64, ts


def friend_shape(friendship: Friendship, viewer_id: uuid.UUID) -> dict[str, Any]:
    """FriendResponse from the viewer's side: the *other* user, and whether they asked.
    Needs ``requester`` and ``addressee`` loaded (select_related)."""
    incoming = friendship.addressee_id == viewer_id
    other = friendship.requester if incoming else friendship.addressee
    return {
        "id": str(friendship.id),
        "user_id": str(other.id),
        "username": other.username,
        "display_name": other.display_name,
        "avatar_url": avatar_url(other),
        "status": friendship.status,
        "is_incoming": incoming,
        "created_at": ts(friendship.created_at),
    }


def reaction_groups(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    """ReactionGroup[]: one per (message, emoji), in the order of each group's first reaction;
    ``user_ids`` in reaction order. Expects reactions ordered by reaction time."""
    groups: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for reaction in reactions:
        key = (reaction.message_id, reaction.emoji)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "message_id": str(reaction.message_id),
                "emoji": reaction.emoji,
                "count": 0,
                "user_ids": [],
            }
        group["count"] += 1
        group["user_ids"].append(str(reaction.user_id))
    return list(groups.values())


def sender_key_shape(distribution: SenderKeyDistribution) -> dict[str, Any]:
    return {
        "id": str(distribution.id),
        "channel_id": str(distribution.channel_id),
        "from_user_id": str(distribution.from_user_id),
        "distribution_id": str(distribution.distribution_id),
        "encrypted_skdm": b64(distribution.encrypted_skdm),
        "created_at": ts(distribution.created_at),
    }


def report_shape(report: Report) -> dict[str, Any]:
    """ReportResponse, as the reporter sees it."""
    return {
        "id": str(report.id),
        "message_id": str(report.message_id),
        "reason": report.reason,
        "status": report.status,
        "created_at": ts(report.created_at),
    }


def admin_report_shape(report: Report, server_id: uuid.UUID | None) -> dict[str, Any]:
    """A report as instance admins review it (an addition; the original has no such route).
    Needs ``reporter`` loaded. Message content stays end-to-end encrypted: never included."""
    return {
        **report_shape(report),
        "channel_id": str(report.channel_id),
        "server_id": str(server_id) if server_id else None,
        "reporter_id": str(report.reporter_id),
        "reporter_username": report.reporter.username,
        "resolved_by": str(report.resolved_by_id) if report.resolved_by_id else None,
        "resolved_at": ts(report.resolved_at),
    }
