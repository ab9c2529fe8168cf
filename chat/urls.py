"""REST routes of the chat app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
