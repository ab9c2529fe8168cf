"""The OpenAPI description of the chat routes (api.md 2.6-2.12, 2.15-2.19, 2.21-2.25, and the
additions of docs/moderation.md): what each route takes and gives (haven_site.api.openapi). The
answer components live beside the shapes they describe, in ``chat.shapes.openapi``."""

from __future__ import annotations

from chat.api import (
    channels,
    dms,
    files,
    friends,
    members,
    messages,
    presence,
    previews,
    profiles,
    reports,
    roles,
    sender_keys,
    servers,
    stats,
)
from chat.api.schemas import (
    AssignRoleBody,
    BanBody,
    CreateCategoryBody,
    CreateChannelBody,
    CreateRoleBody,
    CreateServerBody,
    NicknameBody,
    OverwriteBody,
    RenameChannelBody,
    ReorderCategoriesBody,
    ReorderChannelsBody,
    SetCategoryBody,
    TimeoutBody,
    UpdateCategoryBody,
    UpdateRoleBody,
    UpdateServerBody,
)
from chat.shapes.openapi import (
    AdminReportResponse,
    AuditLogResponse,
    BanResponse,
    CategoryResponse,
    ChannelMemberInfo,
    ChannelResponse,
    CustomEmojiResponse,
    FriendResponse,
    MessageResponse,
    MyReportResponse,
    OverwriteResponse,
    ProfileResponse,
    ReactionGroup,
    ReportResponse,
    RoleResponse,
    SenderKeyResponse,
    ServerMemberResponse,
    ServerResponse,
)
from haven_site.api.openapi import (
    INTEGER,
    LIMIT,
    OFFSET,
    OK_TRUE,
    STRING,
    TIMESTAMP,
    UUID,
    annotate,
    array,
    const,
    message,
    obj,
    op,
    query,
)

IMAGE = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream")
EMOJI_IMAGE = ("image/png", "image/jpeg", "image/gif", "application/octet-stream")
B64_TEXT = {"type": "string", "format": "byte"}
PERM = {"type": "string", "pattern": "^[+-]?[0-9]+$"}
BEFORE = query("before", TIMESTAMP, "Only entries strictly older (RFC 3339 with an offset)")
GIFS = obj(
    {
        "results": array(
            obj(
                {
                    "id": STRING,
                    "title": STRING,
                    "url": STRING,
                    "preview_url": STRING,
                    "width": INTEGER,
                    "height": INTEGER,
                }
            )
        ),
        "total_count": INTEGER,
    }
)
STATS = ("total_users", "total_servers", "total_channels", "total_messages", "active_connections")
PRESENCE_STATUS = const("online", "idle", "dnd", "offline")

annotate(
    {
        # Servers and membership (2.6), nicknames (2.16), timeouts (2.17), audit log (2.18)
        servers.ServersView: {
            "get": op(ServerResponse(many=True)),
            "post": op(ServerResponse, body=CreateServerBody),
        },
        servers.ServerView: {
            "get": op(ServerResponse),
            "patch": op(OK_TRUE, body=UpdateServerBody),
            "delete": op(OK_TRUE),
        },
        servers.MyPermissionsView: {
            "get": op(obj({"permissions": PERM, "is_owner": {"type": "boolean"}}))
        },
        servers.LeaveView: {"delete": op(OK_TRUE)},
        servers.MembersView: {"get": op(ServerMemberResponse(many=True), params=[LIMIT, OFFSET])},
        servers.MemberView: {"delete": op(obj({"kicked": const(True)}))},
        members.OwnNicknameView: {"put": op(OK_TRUE, body=NicknameBody)},
        members.MemberNicknameView: {"put": op(OK_TRUE, body=NicknameBody)},
        members.TimeoutView: {
            "put": op(obj({"timed_out_until": {**TIMESTAMP, "nullable": True}}), body=TimeoutBody)
        },
        members.AuditLogView: {
            "get": op(
                AuditLogResponse(many=True),
                params=[query("limit", INTEGER, "Default 50, clamped into 1..100"), BEFORE],
            )
        },
        # Bans (2.15) and roles (2.11)
        members.BansView: {"get": op(BanResponse(many=True), params=[LIMIT, OFFSET])},
        members.BanView: {
            "post": op(BanResponse, body=BanBody, errors=(409,)),
            "delete": op(obj({"unbanned": const(True)})),
        },
        members.MemberRolesView: {"put": op(message("Role assigned"), body=AssignRoleBody)},
        members.MemberRoleView: {"delete": op(message("Role removed"))},
        roles.RolesView: {
            "get": op(RoleResponse(many=True)),
            "post": op(RoleResponse, body=CreateRoleBody),
        },
        roles.RoleView: {
            "put": op(RoleResponse, body=UpdateRoleBody),
            "delete": op(message("Role deleted")),
        },
        # Channels (2.7), categories (2.8), overwrites (2.11)
        channels.ServerChannelsView: {
            "get": op(ChannelResponse(many=True)),
            "post": op(ChannelResponse, body=CreateChannelBody),
        },
        channels.ReorderChannelsView: {
            "put": op(message("Channels reordered"), body=ReorderChannelsBody)
        },
        channels.ChannelView: {
            "put": op(
                ChannelResponse,
                body=RenameChannelBody,
                description=(
                    "Renames a server channel (needs MANAGE_CHANNELS) or, a port addition, a "
                    "group DM: any participant of the group may replace its encrypted_meta "
                    "(403 Not a member of this channel otherwise), and every participant's "
                    "connections get ChannelUpdated {channel_id, encrypted_meta}. One-to-one "
                    "DMs are refused: 403 Cannot rename DM channels."
                ),
            ),
            "delete": op(message("Channel deleted")),
        },
        channels.JoinChannelView: {"post": op(message("Joined channel"))},
        channels.ChannelMembersView: {
            "get": op(ChannelMemberInfo(many=True)),
            "post": op(obj({"added": const(True)}), body=dms.AddMemberBody),
        },
        channels.ChannelCategoryView: {"put": op(ChannelResponse, body=SetCategoryBody)},
        channels.CategoriesView: {
            "get": op(CategoryResponse(many=True)),
            "post": op(CategoryResponse, body=CreateCategoryBody),
        },
        channels.ReorderCategoriesView: {
            "put": op(message("Categories reordered"), body=ReorderCategoriesBody)
        },
        channels.CategoryView: {
            "put": op(CategoryResponse, body=UpdateCategoryBody),
            "delete": op(message("Category deleted")),
        },
        channels.OverwritesView: {
            "get": op(OverwriteResponse(many=True)),
            "put": op(OverwriteResponse, body=OverwriteBody),
        },
        channels.OverwriteView: {"delete": op(message("Overwrite removed"))},
        # Messages, reactions, pins (2.9), sender keys (2.9a), read states (2.10)
        messages.ChannelMessagesView: {
            "get": op(
                MessageResponse(many=True),
                params=[BEFORE, query("limit", INTEGER, "Default 50, at most 100")],
            ),
            "post": op(MessageResponse, body=messages.SendBody, errors=(409,)),
        },
        messages.BulkDeleteView: {
            "post": op(obj({"deleted": INTEGER}), body=messages.BulkDeleteBody)
        },
        messages.ChannelReactionsView: {"get": op(ReactionGroup(many=True))},
        messages.MessageReactionsView: {"get": op(ReactionGroup(many=True))},
        messages.PinsView: {"get": op(MessageResponse(many=True))},
        messages.PinIdsView: {"get": op(array(UUID))},
        sender_keys.SenderKeysView: {
            "get": op(SenderKeyResponse(many=True)),
            "post": op(obj({"distributed": INTEGER}), body=sender_keys.DistributeBody),
        },
        sender_keys.MemberKeysView: {
            "get": op(array(obj({"user_id": UUID, "identity_key": B64_TEXT})))
        },
        sender_keys.ReadStateView: {
            "put": op(obj({"user_id": UUID, "channel_id": UUID, "last_read_at": TIMESTAMP}))
        },
        sender_keys.ReadStatesView: {
            "get": op(
                array(
                    obj(
                        {
                            "channel_id": UUID,
                            "last_message_id": UUID,
                            "last_message_at": TIMESTAMP,
                            "unread_count": INTEGER,
                        }
                    )
                )
            )
        },
        # Friends, DMs, group DMs (2.12)
        dms.DmPrivacyView: {
            "put": op(
                obj({"dm_privacy": const("everyone", "friends_only", "server_members")}),
                body=dms.DmPrivacyBody,
            )
        },
        dms.DmView: {
            "get": op(ChannelResponse(many=True)),
            "post": op(ChannelResponse, body=dms.OpenDmBody),
        },
        dms.GroupDmView: {"post": op(ChannelResponse, body=dms.OpenGroupBody)},
        dms.LeaveGroupView: {"delete": op(message("Left channel"))},
        dms.DmRequestsView: {"get": op(ChannelResponse(many=True))},
        dms.DmRequestView: {
            "post": op(message("DM request accepted", "DM request declined"), body=dms.AnswerBody)
        },
        friends.FriendsView: {"get": op(FriendResponse(many=True), params=[LIMIT, OFFSET])},
        friends.FriendRequestView: {"post": op(FriendResponse, body=friends.FriendRequestBody)},
        friends.AcceptFriendView: {"post": op(FriendResponse)},
        friends.DeclineFriendView: {"post": op(message("Friend request declined"))},
        friends.FriendView: {"delete": op(message("Friend removed"))},
        # Presence (2.23), reports (2.24 and docs/moderation.md)
        profiles.UserProfileView: {
            "get": op(
                ProfileResponse,
                params=[query("server_id", UUID, "Adds the user's roles in that server")],
            )
        },
        stats.AdminStatsView: {"get": op(obj(dict.fromkeys(STATS, INTEGER)))},
        presence.PresenceView: {
            "get": op(
                array(obj({"user_id": UUID, "status": PRESENCE_STATUS})),
                params=[query("user_ids", STRING, "Comma-separated user ids", required=True)],
            )
        },
        reports.ReportsView: {
            "get": op(MyReportResponse(many=True), params=[LIMIT, OFFSET]),
            "post": op(ReportResponse, body=reports.ReportBody),
        },
        reports.AdminReportsView: {
            "get": op(
                AdminReportResponse(many=True),
                params=[LIMIT, OFFSET, query("status", STRING, "pending, resolved or dismissed")],
            )
        },
        reports.AdminReportView: {
            "put": op(AdminReportResponse, body=reports.ReviewBody, errors=(409,))
        },
        # Files: attachments (2.21), server icons (2.6), custom emojis (2.19)
        files.AttachmentUploadView: {
            "post": op(
                obj({"attachment_id": UUID, "storage_key": STRING}),
                raw_body="the encrypted file, at most MAX_UPLOAD_SIZE_BYTES",
            )
        },
        files.AttachmentView: {"get": op(media=("application/octet-stream",))},
        files.ServerIconView: {
            "get": op(media=IMAGE, errors=(404,)),
            "post": op(
                obj({"icon_url": STRING}), raw_body="the image (PNG, JPEG, GIF, WebP), 2 MiB max"
            ),
            "delete": op(OK_TRUE),
        },
        files.EmojisView: {
            "get": op(CustomEmojiResponse(many=True)),
            "post": op(
                CustomEmojiResponse,
                raw_body="the image (PNG, JPEG or GIF), at most 256 KiB",
                params=[query("name", STRING, "2-64 letters, digits or _", required=True)],
            ),
        },
        files.EmojiView: {
            "patch": op(CustomEmojiResponse, body=files.EmojiRenameBody),
            "delete": op(None, status=204),
        },
        files.EmojiImageView: {"get": op(media=EMOJI_IMAGE, errors=(404,))},
        # Link previews (2.22), GIFs (2.25)
        previews.LinkPreviewView: {
            "get": op(
                obj(
                    {"url": STRING},
                    dict.fromkeys(("title", "description", "image", "site_name"), STRING),
                ),
                params=[query("url", STRING, "An http(s) URL", required=True)],
                errors=(429,),
            )
        },
        previews.GifSearchView: {
            "get": op(
                GIFS,
                params=[query("q", STRING, required=True), query("offset", INTEGER)],
                errors=(500,),
            )
        },
        previews.GifTrendingView: {"get": op(GIFS, errors=(500,))},
    }
)
