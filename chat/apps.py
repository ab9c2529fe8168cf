from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The gateway's message operations (SendMessage, ...; websocket.md 3).
        from chat.gateway import messages  # noqa: F401
