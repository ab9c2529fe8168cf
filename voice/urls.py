"""REST routes of the voice app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
