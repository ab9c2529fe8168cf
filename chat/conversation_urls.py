"""REST routes of the conversation layer: messages, reactions, pins, sender keys, read states,
DMs, friends, presence, reports (api.md 2.9-2.12, 2.23-2.24).

Literal segments come before ``<id:...>`` ones at the same position (``channels/read-states``
before any ``channels/<id:channel_id>``, ``friends/request`` before ``friends/<id>``), because
the id converter matches any segment so that a malformed id can answer 400.
"""

from django.urls import path

from chat.api import dms, friends, messages, presence, profiles, reports, sender_keys, stats

urlpatterns = [
    path("channels/read-states", sender_keys.ReadStatesView.as_view()),
    path("channels/<id:channel_id>/messages", messages.ChannelMessagesView.as_view()),
    path("channels/<id:channel_id>/messages/bulk-delete", messages.BulkDeleteView.as_view()),
    path("channels/<id:channel_id>/reactions", messages.ChannelReactionsView.as_view()),
    path("channels/<id:channel_id>/pins", messages.PinsView.as_view()),
    path("channels/<id:channel_id>/pin-ids", messages.PinIdsView.as_view()),
    path("channels/<id:channel_id>/sender-keys", sender_keys.SenderKeysView.as_view()),
    path("channels/<id:channel_id>/members/keys", sender_keys.MemberKeysView.as_view()),
    path("channels/<id:channel_id>/read-state", sender_keys.ReadStateView.as_view()),
    path("channels/<id:channel_id>/leave", dms.LeaveGroupView.as_view()),
    path("messages/<id:message_id>/reactions", messages.MessageReactionsView.as_view()),
    path("users/dm-privacy", dms.DmPrivacyView.as_view()),
    path("dm", dms.DmView.as_view()),
    path("dm/group", dms.GroupDmView.as_view()),
    path("dm/requests", dms.DmRequestsView.as_view()),
    path("dm/<id:channel_id>/request", dms.DmRequestView.as_view()),
    path("friends", friends.FriendsView.as_view()),
    path("friends/request", friends.FriendRequestView.as_view()),
    path("friends/<id:friendship_id>/accept", friends.AcceptFriendView.as_view()),
    path("friends/<id:friendship_id>/decline", friends.DeclineFriendView.as_view()),
    path("friends/<id:friendship_id>", friends.FriendView.as_view()),
    path("presence", presence.PresenceView.as_view()),
    path("users/<id:user_id>/profile", profiles.UserProfileView.as_view()),
    path("admin/stats", stats.AdminStatsView.as_view()),
    path("reports", reports.ReportsView.as_view()),
    path("admin/reports", reports.AdminReportsView.as_view()),
    path("admin/reports/<id:report_id>", reports.AdminReportView.as_view()),
]
