"""REST routes of the chat app.

Literal segments come before ``<id:...>`` in the same position (api.md 2.0 routing notes): the
``id`` converter matches any segment (so that a malformed id answers 400), which would otherwise
swallow ``@me``, ``reorder`` or ``read-states``.
"""

from django.urls import include, path

from chat.api import channels, files, members, previews, roles, servers

S = "servers/<id:server_id>"
C = "channels/<id:channel_id>"

urlpatterns = [
    # First: literal segments such as channels/read-states must win over channels/<id:...>.
    path("", include("chat.conversation_urls")),
    # Servers and membership (2.6), nicknames (2.16), timeouts (2.17), audit log (2.18)
    path("servers", servers.ServersView.as_view()),
    path(S, servers.ServerView.as_view()),
    path(f"{S}/members/@me/permissions", servers.MyPermissionsView.as_view()),
    path(f"{S}/members/@me", servers.LeaveView.as_view()),
    path(f"{S}/members", servers.MembersView.as_view()),
    path(f"{S}/members/<id:user_id>", servers.MemberView.as_view()),
    path(f"{S}/members/<id:user_id>/roles", members.MemberRolesView.as_view()),
    path(f"{S}/members/<id:user_id>/roles/<id:role_id>", members.MemberRoleView.as_view()),
    path(f"{S}/members/<id:user_id>/nickname", members.MemberNicknameView.as_view()),
    path(f"{S}/members/<id:user_id>/timeout", members.TimeoutView.as_view()),
    path(f"{S}/nickname", members.OwnNicknameView.as_view()),
    path(f"{S}/audit-log", members.AuditLogView.as_view()),
    # Bans (2.15)
    path(f"{S}/bans", members.BansView.as_view()),
    path(f"{S}/bans/<id:user_id>", members.BanView.as_view()),
    # Roles (2.11)
    path(f"{S}/roles", roles.RolesView.as_view()),
    path(f"{S}/roles/<id:role_id>", roles.RoleView.as_view()),
    # Channels (2.7) and categories (2.8)
    path(f"{S}/channels", channels.ServerChannelsView.as_view()),
    path(f"{S}/channels/reorder", channels.ReorderChannelsView.as_view()),
    path(f"{S}/categories", channels.CategoriesView.as_view()),
    path(f"{S}/categories/reorder", channels.ReorderCategoriesView.as_view()),
    path(f"{S}/categories/<id:category_id>", channels.CategoryView.as_view()),
    # Files (2.19, 2.21, server icons of 2.6), link previews (2.22) and GIFs (2.25)
    path("attachments/upload", files.AttachmentUploadView.as_view()),
    path("attachments/<id:attachment_id>", files.AttachmentView.as_view()),
    path(f"{S}/icon", files.ServerIconView.as_view()),
    path(f"{S}/emojis", files.EmojisView.as_view()),
    path(f"{S}/emojis/<id:emoji_id>", files.EmojiView.as_view()),
    path(f"{S}/emojis/<id:emoji_id>/image", files.EmojiImageView.as_view()),
    path("link-preview", previews.LinkPreviewView.as_view()),
    path("gifs/search", previews.GifSearchView.as_view()),
    path("gifs/trending", previews.GifTrendingView.as_view()),
    # Keep literal ``channels/...`` routes of other sections (e.g. ``channels/read-states``)
    # above this one.
    path(C, channels.ChannelView.as_view()),
    path(f"{C}/join", channels.JoinChannelView.as_view()),
    path(f"{C}/members", channels.ChannelMembersView.as_view()),
    path(f"{C}/category", channels.ChannelCategoryView.as_view()),
    path(f"{C}/overwrites", channels.OverwritesView.as_view()),
    path(f"{C}/overwrites/<str:target_type>/<id:target_id>", channels.OverwriteView.as_view()),
]
