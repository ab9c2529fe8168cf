"""``verify_action``, after Zulip's test helper of that name: run an action, apply the events it
published to each viewer's state loaded over REST *before* it, as a client would, and compare the
result with the same state loaded *after* it. A client that keeps its view up to date from events
alone must end where a fresh fetch ends; where it does not, an event is missing, goes to the wrong
people, or carries the wrong data.

    verify_action(api, ["alice", "bob"], lambda: api.as_("alice").post(...), channels=[cid])

``ClientState`` is that client: what a user sees over REST (their servers with channels,
categories, roles, members, emojis and bans; DMs and DM requests; friends; read states; reports;
and, for the channels named, messages, pins, reactions and sender keys), and one ``apply`` per
event type. An event reaches a viewer as the gateway would deliver it: to their connections
(``to_users``), or to their subscriptions (the client subscribes to every channel it can see; so
``to_channels`` and ``to_servers`` reach it through the channels in its state), unless it is
hidden from them.

What a client cannot rebuild from an event it reloads, as the real client does (``ServerUpdated``
reloads the server's structure; ``MemberJoined`` the member list; ``FriendRequestReceived`` the
friend list, since the event does not carry the requester's profile). Reactions are compared by
count: ``ReactionAdded`` carries the reaction's sender token, not the user (sealed sender), so no
client can rebuild ``user_ids``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from realtime.events import CapturedEvent
from tests.factories import published
from tests.helpers import Api

ALL_PERMISSIONS = str(2**63 - 1)
ADMINISTRATOR = 1


class ClientState:
    def __init__(self, api: Api, username: str, channels: Iterable[str] = ()) -> None:
        self.client = api.as_(username)
        self.user_id = api.users[username].id
        self.tracked = [str(c) for c in channels]  # channels whose messages are kept
        self.data: dict[str, Any] = {}

    # --- loading over REST -----------------------------------------------------------------

    def get(self, path: str) -> Any:
        response = self.client.get(f"/api/v1{path}")
        return response.json() if response.status_code == 200 else None

    def load(self) -> ClientState:
        servers = self.get("/servers") or []
        self.data = {
            "servers": {s["id"]: self.load_server(s["id"]) for s in servers},
            "dms": _by_id(self.get("/dm")),
            "dm_requests": _by_id(self.get("/dm/requests")),
            "friends": _by_id(self.get("/friends?limit=100")),
            "read_states": {r["channel_id"]: r for r in self.get("/channels/read-states") or []},
            "reports": _by_id(self.get("/reports?limit=100")),
            "channels": {c: self.load_channel(c) for c in self.tracked},
        }
        return self

    def load_server(self, server_id: str) -> dict[str, Any]:
        base = f"/servers/{server_id}"
        return {
            "server": self.get(base),
            "channels": _by_id(self.get(f"{base}/channels")),
            "categories": _by_id(self.get(f"{base}/categories")),
            "roles": _by_id(self.get(f"{base}/roles")),
            "members": {m["user_id"]: m for m in self.get(f"{base}/members?limit=100") or []},
            "emojis": _by_id(self.get(f"{base}/emojis")),
            "bans": {b["user_id"]: b for b in self.get(f"{base}/bans?limit=100") or []},
        }

    def load_channel(self, channel_id: str) -> dict[str, Any] | None:
        messages = self.get(f"/channels/{channel_id}/messages?limit=100")
        if messages is None:
            return None  # no access
        return {
            "messages": {m["id"]: m for m in messages},
            "pin_ids": self.get(f"/channels/{channel_id}/pin-ids"),
            "reactions": _reaction_counts(self.get(f"/channels/{channel_id}/reactions") or []),
            "sender_keys": _by_id(self.get(f"/channels/{channel_id}/sender-keys")),
        }

    # --- delivery ------------------------------------------------------------------------------

    def reaches(self, event: CapturedEvent) -> bool:
        audience = event.audience
        if self.user_id in {str(u) for u in audience.hidden_from}:
            return False
        if self.user_id in {str(u) for u in audience.users}:
            return True
        visible = self.visible_channels()
        if {str(c) for c in audience.channels} & visible:
            return True
        return any(self.data["servers"].get(str(s), {}).get("channels") for s in audience.servers)

    def visible_channels(self) -> set[str]:
        found = set(self.data["dms"]) | set(self.data["dm_requests"])
        for server in self.data["servers"].values():
            found |= set(server["channels"])
        return found

    # --- events --------------------------------------------------------------------------------

    def apply(self, event: CapturedEvent) -> None:
        handler = getattr(self, f"on_{event.type}", None)
        assert handler is not None, f"the test client cannot apply {event.type}"
        handler(event.payload)

    # One handler per event type, named after it.

    def on_NewMessage(self, message: dict[str, Any]) -> None:
        channel = self.data["channels"].get(message["channel_id"])
        if channel is not None:
            channel["messages"][message["id"]] = message
        self._recount(message["channel_id"], added=message)

    def on_MessageEdited(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None and p["message_id"] in channel["messages"]:
            message = channel["messages"][p["message_id"]]
            message.update(encrypted_body=p["encrypted_body"], edited=True)

    def on_MessageDeleted(self, p: dict[str, Any]) -> None:
        self._drop_messages(p["channel_id"], [p["message_id"]])

    def on_BulkMessagesDeleted(self, p: dict[str, Any]) -> None:
        self._drop_messages(p["channel_id"], p["message_ids"])

    def on_ReactionAdded(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None:
            key = f"{p['message_id']} {p['emoji']}"
            channel["reactions"][key] = channel["reactions"].get(key, 0) + 1

    def on_ReactionRemoved(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None:
            key = f"{p['message_id']} {p['emoji']}"
            channel["reactions"][key] = channel["reactions"].get(key, 0) - 1
            if channel["reactions"][key] <= 0:
                del channel["reactions"][key]

    def on_MessagePinned(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None:
            channel["pin_ids"] = [p["message_id"], *channel["pin_ids"]]

    def on_MessageUnpinned(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None:
            channel["pin_ids"] = [i for i in channel["pin_ids"] if i != p["message_id"]]

    def on_ReadStateUpdated(self, p: dict[str, Any]) -> None:
        state = self.data["read_states"].get(p["channel_id"])
        if state is not None:
            state["unread_count"] = 0

    def on_SenderKeysUpdated(self, p: dict[str, Any]) -> None:
        channel = self.data["channels"].get(p["channel_id"])
        if channel is not None:
            channel["sender_keys"] = _by_id(self.get(f"/channels/{p['channel_id']}/sender-keys"))

    def on_ServerUpdated(self, p: dict[str, Any]) -> None:
        """Reload the server's settings and structure (channels, categories, roles, emojis);
        members keep only the role ids that still exist."""
        server = self.data["servers"].get(p["server_id"])
        if server is None:
            return
        fresh = self.load_server(p["server_id"])
        for channel_id in set(server["channels"]) - set(fresh["channels"]):
            self._forget_channel(channel_id)  # deleted, or no longer visible
        for channel_id in set(fresh["channels"]) - set(server["channels"]):
            if channel_id in self.data["channels"]:  # visible again: load its history
                self.data["channels"][channel_id] = self.load_channel(channel_id)
            self._reload_read_states()
        for part in ("server", "channels", "categories", "roles", "emojis"):
            server[part] = fresh[part]
        for member in server["members"].values():
            member["role_ids"] = [r for r in member["role_ids"] if r in server["roles"]]

    def on_ServerDeleted(self, p: dict[str, Any]) -> None:
        self._leave_server(p["server_id"])

    def on_MemberJoined(self, p: dict[str, Any]) -> None:
        if p["user_id"] == self.user_id:  # this user joined (on another device)
            server = self.data["servers"][p["server_id"]] = self.load_server(p["server_id"])
            for channel_id in set(server["channels"]) & set(self.data["channels"]):
                self.data["channels"][channel_id] = self.load_channel(channel_id)
            self._reload_read_states()
        elif p["server_id"] in self.data["servers"]:
            server = self.data["servers"][p["server_id"]]
            server["members"] = self.load_server(p["server_id"])["members"]

    def on_MemberRemoved(self, p: dict[str, Any]) -> None:
        if p["user_id"] == self.user_id:
            self._leave_server(p["server_id"])
        elif p["server_id"] in self.data["servers"]:
            self.data["servers"][p["server_id"]]["members"].pop(p["user_id"], None)

    def on_MemberBanned(self, p: dict[str, Any]) -> None:
        self.on_MemberRemoved(p)
        server = self.data["servers"].get(p["server_id"])
        if server is not None:  # the ban's reason and date are not in the event
            server["bans"] = self.load_server(p["server_id"])["bans"]

    def on_MemberUnbanned(self, p: dict[str, Any]) -> None:
        server = self.data["servers"].get(p["server_id"])
        if server is not None:
            server["bans"].pop(p["user_id"], None)

    def on_MemberNicknameUpdated(self, p: dict[str, Any]) -> None:
        member = self._member(p["server_id"], p["user_id"])
        if member is not None:
            member.pop("nickname", None)
            if p["nickname"] is not None:
                member["nickname"] = p["nickname"]

    def on_MemberRolesUpdated(self, p: dict[str, Any]) -> None:
        member = self._member(p["server_id"], p["user_id"])
        if member is not None:
            member["role_ids"] = p["role_ids"]
        if p["user_id"] == self.user_id and p["server_id"] in self.data["servers"]:
            self._recompute_permissions(self.data["servers"][p["server_id"]], p["role_ids"])

    def on_MemberTimedOut(self, p: dict[str, Any]) -> None:
        member = self._member(p["server_id"], p["user_id"])
        if member is not None:
            member.pop("timed_out_until", None)
            if p["timed_out_until"] is not None:
                member["timed_out_until"] = p["timed_out_until"]

    def on_EmojiCreated(self, p: dict[str, Any]) -> None:
        server = self.data["servers"].get(p["server_id"])
        if server is not None:
            server["emojis"][p["emoji"]["id"]] = p["emoji"]

    def on_EmojiDeleted(self, p: dict[str, Any]) -> None:
        server = self.data["servers"].get(p["server_id"])
        if server is not None:
            server["emojis"].pop(p["emoji_id"], None)

    def on_FriendRequestReceived(self, p: dict[str, Any]) -> None:
        self.data["friends"] = _by_id(self.get("/friends?limit=100"))

    def on_FriendRequestAccepted(self, p: dict[str, Any]) -> None:
        friendship = self.data["friends"].get(p["friendship_id"])
        if friendship is not None:
            friendship["status"] = "accepted"

    def on_FriendRemoved(self, p: dict[str, Any]) -> None:
        self.data["friends"] = {
            k: f for k, f in self.data["friends"].items() if f["user_id"] != p["user_id"]
        }

    def on_DmRequestReceived(self, p: dict[str, Any]) -> None:
        self.data["dms"] = _by_id(self.get("/dm"))
        self.data["dm_requests"] = _by_id(self.get("/dm/requests"))

    def on_ChannelUpdated(self, p: dict[str, Any]) -> None:
        channel = self.data["dms"].get(p["channel_id"])
        if channel is not None:
            channel["encrypted_meta"] = p["encrypted_meta"]

    def on_ReportResolved(self, p: dict[str, Any]) -> None:
        report = self.data["reports"].get(p["report_id"])
        if report is not None:
            report.update(status=p["status"], outcome=p["outcome"], resolved_at=p["resolved_at"])

    # --- helpers ---------------------------------------------------------------------------

    def _member(self, server_id: str, user_id: str) -> dict[str, Any] | None:
        server = self.data["servers"].get(server_id)
        return server["members"].get(user_id) if server is not None else None

    def _leave_server(self, server_id: str) -> None:
        server = self.data["servers"].pop(server_id, None)
        for channel_id in (server or {}).get("channels", {}):
            self._forget_channel(channel_id)

    def _forget_channel(self, channel_id: str) -> None:
        if channel_id in self.data["channels"]:
            self.data["channels"][channel_id] = None
        self.data["read_states"].pop(channel_id, None)

    def _reload_read_states(self) -> None:
        self.data["read_states"] = {
            r["channel_id"]: r for r in self.get("/channels/read-states") or []
        }

    def _drop_messages(self, channel_id: str, message_ids: list[str]) -> None:
        channel = self.data["channels"].get(channel_id)
        if channel is None:
            return
        for message_id in message_ids:
            if message_id in channel["messages"]:
                self._recount(channel_id, removed=channel["messages"][message_id])
                del channel["messages"][message_id]
            channel["pin_ids"] = [i for i in channel["pin_ids"] if i != message_id]
            channel["reactions"] = {
                k: n for k, n in channel["reactions"].items() if not k.startswith(message_id)
            }

    def _recount(
        self,
        channel_id: str,
        added: dict[str, Any] | None = None,
        removed: dict[str, Any] | None = None,
    ) -> None:
        """The read state of a channel after a message came or went: the newest message, and
        the unread count (the newest ``unread_count`` messages are the unread ones)."""
        if channel_id not in self.visible_channels():
            return
        state = self.data["read_states"].get(channel_id)
        if added is not None:
            unread = (state["unread_count"] if state else 0) + 1
            self.data["read_states"][channel_id] = {
                "channel_id": channel_id,
                "last_message_id": added["id"],
                "last_message_at": added["timestamp"],
                "unread_count": unread,
            }
            return
        channel = self.data["channels"].get(channel_id)
        if state is None or channel is None or removed is None:
            return
        newest = sorted(channel["messages"].values(), key=lambda m: (m["timestamp"], m["id"]))
        unread_ids = {m["id"] for m in newest[len(newest) - state["unread_count"] :]}
        remaining = [m for m in newest if m["id"] != removed["id"]]
        if not remaining:
            del self.data["read_states"][channel_id]
            return
        state["unread_count"] -= removed["id"] in unread_ids
        state["last_message_id"] = remaining[-1]["id"]
        state["last_message_at"] = remaining[-1]["timestamp"]

    def _recompute_permissions(self, server: dict[str, Any], role_ids: list[str]) -> None:
        """``my_permissions``, as 3.3 of the spec computes it: owner or administrator hold all;
        otherwise @everyone's bits OR those of the assigned roles."""
        info = server["server"]
        if info["owner_id"] == self.user_id:
            return
        bits = 0
        for role in server["roles"].values():
            if role["is_default"] or role["id"] in role_ids:
                bits |= int(role["permissions"])
        info["my_permissions"] = ALL_PERMISSIONS if bits & ADMINISTRATOR else str(bits)


def _by_id(rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {row["id"]: row for row in rows or []}


def _reaction_counts(groups: list[dict[str, Any]]) -> dict[str, int]:
    return {f"{g['message_id']} {g['emoji']}": g["count"] for g in groups}


def verify_action(
    api: Api,
    viewers: Iterable[str],
    action: Callable[[], Any],
    *,
    channels: Iterable[Any] = (),
) -> list[CapturedEvent]:
    """Run ``action``; for each viewer, the state loaded before with the action's events
    applied must equal the state loaded after. Returns the events, for further assertions."""
    tracked = [str(c) for c in channels]
    states = {name: ClientState(api, name, tracked).load() for name in viewers}
    with published() as events:
        result = action()
    status = getattr(result, "status_code", 200)
    assert status in (200, 204), f"the action failed: {result!r}"
    assert events, "the action published no event"
    for name, state in states.items():
        for event in events:
            if state.reaches(event):
                state.apply(event)
        expected = ClientState(api, name, tracked).load().data
        if state.data != expected:
            raise AssertionError(
                f"{name}'s state from events differs from a fresh fetch after "
                f"{[e.type for e in events]}:\n{_diff(state.data, expected)}"
            )
    return events


def _diff(got: Any, expected: Any, path: str = "") -> str:
    if isinstance(got, dict) and isinstance(expected, dict):
        lines = []
        for key in sorted(set(got) | set(expected), key=str):
            if got.get(key) != expected.get(key):
                lines.append(_diff(got.get(key), expected.get(key), f"{path}.{key}"))
        return "\n".join(lines)
    return f"{path}:\n  from events: {json.dumps(got)}\n  fresh fetch: {json.dumps(expected)}"


def verify_quiet(api: Api, viewers: Iterable[str], action: Callable[[], Any]) -> None:
    """An action that changes nothing (an idempotent repeat) publishes nothing, and indeed
    changes nothing any viewer can fetch."""
    states = {name: ClientState(api, name).load().data for name in viewers}
    with published() as events:
        action()
    assert [e.type for e in events] == []
    for name, before in states.items():
        assert ClientState(api, name).load().data == before, name
