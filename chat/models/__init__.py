"""The community and conversation data of Haven (api.md section 4), one module per area."""

from chat.models.channels import Channel, ChannelCategory, ChannelMember, ChannelType, DmStatus
from chat.models.emojis import CustomEmoji
from chat.models.messages import (
    Attachment,
    Message,
    MessageType,
    PinnedMessage,
    Reaction,
    ReadState,
    SenderKeyDistribution,
)
from chat.models.moderation import AuditLogEntry, Ban, Report, ReportOutcome, ReportStatus
from chat.models.permissions import MemberRole, PermissionOverwrite, Role, TargetType
from chat.models.servers import Server, ServerMember
from chat.models.social import Friendship, FriendshipStatus

__all__ = [
    "Attachment",
    "AuditLogEntry",
    "Ban",
    "Channel",
    "ChannelCategory",
    "ChannelMember",
    "ChannelType",
    "CustomEmoji",
    "DmStatus",
    "Friendship",
    "FriendshipStatus",
    "MemberRole",
    "Message",
    "MessageType",
    "PermissionOverwrite",
    "PinnedMessage",
    "Reaction",
    "ReadState",
    "Report",
    "ReportOutcome",
    "ReportStatus",
    "Role",
    "SenderKeyDistribution",
    "Server",
    "ServerMember",
    "TargetType",
]
