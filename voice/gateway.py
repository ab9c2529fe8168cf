"""The voice app's part of the gateway (websocket.md 1.8, 3.12), registered from
``voice.apps.VoiceConfig.ready`` through the gateway's extension points (docs/realtime.md):

* ``CallInvite``, ``CallAccept``, ``CallReject``, ``CallEnd``: thin handlers over ``voice.calls``
  (an ``ApiError`` becomes ``Error {message}``);
* a user's last connection anywhere closing: out of every voice channel (``VoiceStateUpdate
  joined=false``), then rings they started and connected calls they took part in end;
* the ring sweeper (``voice.calls.run_ring_sweeper``), once per gateway process, so a ring whose
  inviting instance died still ends after 30 s.
"""

from __future__ import annotations

import uuid
from typing import Any

from haven_site.threads import in_thread
from realtime import protocol
from voice import actions, calls

K = protocol.Kind


@protocol.client_message("CallInvite", channel_id=K.UUID)
async def call_invite(conn: Any, payload: dict[str, Any]) -> None:
    await calls.call_invite(await conn.current_user(), payload["channel_id"])


@protocol.client_message("CallAccept", channel_id=K.UUID)
async def call_accept(conn: Any, payload: dict[str, Any]) -> None:
    await calls.call_accept(await conn.current_user(), payload["channel_id"])


@protocol.client_message("CallReject", channel_id=K.UUID)
async def call_reject(conn: Any, payload: dict[str, Any]) -> None:
    await calls.call_reject(await conn.current_user(), payload["channel_id"])


@protocol.client_message("CallEnd", channel_id=K.UUID)
async def call_end(conn: Any, payload: dict[str, Any]) -> None:
    await calls.call_end(await conn.current_user(), payload["channel_id"])


@protocol.on_last_disconnect
async def leave_voice(user_id: uuid.UUID) -> None:
    await in_thread(actions.leave_all)(user_id)


@protocol.on_last_disconnect
async def end_calls(user_id: uuid.UUID) -> None:
    await calls.user_disconnected(user_id)


protocol.process_task(calls.run_ring_sweeper)
