"""JSON shapes of the chat app (api.md 1.9, websocket.md 4.2), built by hand like
``accounts.shapes``: explicit, and fast to render. One module per area:

* ``servers``  - server, channel, category, role, overwrite, member, channel member, ban, audit
  entry, custom emoji;
* ``messages`` - the message object, reaction groups, sender-key distributions;
* ``social``   - friendships;
* ``reports``  - reports, as their reporter and as admins see them.
"""

from chat.shapes.messages import message_shape, reaction_groups, sender_key_shape
from chat.shapes.reports import admin_report_shape, report_shape
from chat.shapes.servers import (
    audit_shape,
    ban_shape,
    category_shape,
    channel_member_shape,
    channel_shape,
    emoji_shape,
    icon_url,
    member_shape,
    overwrite_shape,
    role_shape,
    server_shape,
)
from chat.shapes.social import friend_shape

__all__ = [
    "admin_report_shape",
    "audit_shape",
    "ban_shape",
    "category_shape",
    "channel_member_shape",
    "channel_shape",
    "emoji_shape",
    "friend_shape",
    "icon_url",
    "member_shape",
    "message_shape",
    "overwrite_shape",
    "reaction_groups",
    "report_shape",
    "role_shape",
    "sender_key_shape",
    "server_shape",
]
