"""REST routes of the chat app."""

from django.urls import include, path

urlpatterns: list = [
    # First: its literal segments (channels/read-states) must win over channels/<id:...>.
    path("", include("chat.conversation_urls")),
]
