from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The gateway's client messages (websocket.md 3): the connection's own (Ping,
        # Subscribe, ...) and the message operations (SendMessage, ...).
        from chat.gateway import messages, resume, session  # noqa: F401
