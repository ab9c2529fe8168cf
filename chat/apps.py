from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The gateway's client messages (websocket.md 3): the connection's own (Ping,
        # Subscribe, ...) and the message operations (SendMessage, ...); its per-process timers.
        from chat import account_effects
        from chat.gateway import messages, resume, session, timers  # noqa: F401
        from chat.models import (
            Channel,
            ChannelMember,
            MemberRole,
            PermissionOverwrite,
            Role,
            Server,
            ServerMember,
        )
        from haven_site import epochs

        # Behind the per-process caches of chat.access and chat.permissions.
        models = (Server, ServerMember, Role, MemberRole, PermissionOverwrite, Channel)
        epochs.watch("access", *(m._meta.db_table for m in (*models, ChannelMember)))
        epochs.install()

        # Chat's part when accounts deletes, signs out or blocks a user (accounts.hooks).
        account_effects.connect()
