"""The shapes of this package as OpenAPI components (api.md 1.9; haven_site.api.openapi): one
serializer per shape function, its fields in the same order, presence as the spec marks it.
The schema tests compare them with api.md, and the schemathesis run with the live answers."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.openapi import UserSummary
from haven_site.api.fields import B64, Bool, Int, Perm, Str, Timestamp, Uuid
from haven_site.api.openapi import AnyJson, Ref, Shape, nullable, omitted


class ServerResponse(Shape):
    id = Uuid()
    encrypted_meta = B64()
    owner_id = Uuid()
    created_at = Timestamp()
    my_permissions = Perm()
    system_channel_id = omitted(Uuid)
    icon_url = omitted(Str)


class ChannelResponse(Shape):
    id = Uuid()
    server_id = nullable(Uuid)
    encrypted_meta = B64()
    channel_type = Str()
    position = Int()
    created_at = Timestamp()
    category_id = nullable(Uuid)
    dm_status = omitted(Str)
    is_private = Bool()


class CategoryResponse(Shape):
    id = Uuid()
    server_id = Uuid()
    name = Str()
    position = Int()
    created_at = Timestamp()


class RoleResponse(Shape):
    id = Uuid()
    server_id = Uuid()
    name = Str()
    color = nullable(Str)
    permissions = Perm()
    position = Int()
    is_default = Bool()
    created_at = Timestamp()


class OverwriteResponse(Shape):
    id = Uuid()
    channel_id = Uuid()
    target_type = Str()
    target_id = Uuid()
    allow_bits = Perm()
    deny_bits = Perm()


class ServerMemberResponse(UserSummary):
    joined_at = Timestamp()
    nickname = omitted(Str)
    role_ids = serializers.ListField(child=Uuid())
    timed_out_until = omitted(Timestamp)


class ChannelMemberInfo(UserSummary):
    joined_at = Timestamp()


class BanResponse(Shape):
    id = Uuid()
    user_id = Uuid()
    username = Str()
    reason = nullable(Str)
    banned_by = nullable(Uuid)
    created_at = Str(help_text="RFC 3339 with a +00:00 offset (api.md 1.5)")


class AuditLogResponse(Shape):
    id = Uuid()
    actor_id = Uuid()
    actor_username = Str()
    action = Str()
    target_type = nullable(Str)
    target_id = nullable(Uuid)
    changes = nullable(AnyJson)
    reason = nullable(Str)
    created_at = Timestamp()


class CustomEmojiResponse(Shape):
    id = Uuid()
    server_id = Uuid()
    name = Str()
    uploaded_by = nullable(Uuid)
    animated = Bool()
    image_url = Str()
    created_at = Timestamp()


class MessageResponse(Shape):
    id = Uuid()
    channel_id = Uuid()
    sender_token = B64()
    encrypted_body = B64()
    timestamp = Timestamp()
    expires_at = nullable(Timestamp)
    has_attachments = Bool()
    edited = Bool()
    reply_to_id = omitted(Uuid)
    message_type = omitted(Str, help_text='"system" for system messages')


class ReactionGroup(Shape):
    message_id = Uuid()
    emoji = Str()
    count = Int(bits=64)
    user_ids = serializers.ListField(child=Uuid())


class SenderKeyResponse(Shape):
    id = Uuid()
    channel_id = Uuid()
    from_user_id = Uuid()
    distribution_id = Uuid()
    encrypted_skdm = B64()
    created_at = Timestamp()


class FriendResponse(UserSummary):
    id = Uuid(help_text="The friendship")
    status = Str(help_text="pending or accepted")
    is_incoming = Bool()
    created_at = Timestamp()


class ReportResponse(Shape):
    id = Uuid()
    message_id = Uuid()
    reason = Str()
    status = Str()
    created_at = Timestamp()


class MyReportResponse(ReportResponse):
    """A report in its reporter's list (an addition; docs/moderation.md)."""

    channel_id = Uuid()
    content = nullable(Str)
    attachment_names = nullable(serializers.ListField, child=Str())
    outcome = nullable(Str)
    resolved_at = nullable(Timestamp)


class AdminReportResponse(ReportResponse):
    """A report as instance admins review it (an addition; docs/moderation.md)."""

    channel_id = Uuid()
    server_id = nullable(Uuid)
    reporter_id = Uuid()
    reporter_username = Str()
    resolved_by = nullable(Uuid)
    resolved_at = nullable(Timestamp)
    reported_user_id = nullable(Uuid)
    reported_username = nullable(Str)
    content = nullable(Str)
    attachment_names = nullable(serializers.ListField, child=Str())
    outcome = nullable(Str)


class ProfileResponse(Shape):
    """The profile card of ``GET /users/{user_id}/profile``."""

    id = Uuid()
    username = Str()
    display_name = nullable(Str)
    about_me = nullable(Str)
    avatar_url = nullable(Str)
    banner_url = nullable(Str)
    custom_status = nullable(Str)
    custom_status_emoji = nullable(Str)
    created_at = Timestamp()
    is_blocked = Bool()
    is_friend = Bool()
    friend_request_status = nullable(Str, help_text="pending_outgoing, pending_incoming or null")
    friendship_id = nullable(Uuid)
    mutual_friend_count = Int(bits=64)
    mutual_friends = UserSummary(many=True)
    mutual_server_count = Int(bits=64)
    roles = omitted(Ref, component="RoleResponse", many=True, help_text="Only with server_id")
    encrypted_profile = omitted(B64)
