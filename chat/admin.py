"""Django admin registrations of the chat app."""

from chat import admin_reports  # noqa: F401 - registers the report review page
