"""REST routes of the chat app."""

from django.urls import path

from chat.api import files, previews

urlpatterns: list = [
    path("attachments/upload", files.AttachmentUploadView.as_view()),
    path("attachments/<id:attachment_id>", files.AttachmentView.as_view()),
    path("servers/<id:server_id>/icon", files.ServerIconView.as_view()),
    path("servers/<id:server_id>/emojis", files.EmojisView.as_view()),
    path("servers/<id:server_id>/emojis/<id:emoji_id>", files.EmojiView.as_view()),
    path("servers/<id:server_id>/emojis/<id:emoji_id>/image", files.EmojiImageView.as_view()),
    path("link-preview", previews.LinkPreviewView.as_view()),
    path("gifs/search", previews.GifSearchView.as_view()),
    path("gifs/trending", previews.GifTrendingView.as_view()),
]
