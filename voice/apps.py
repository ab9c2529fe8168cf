from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Call signalling, disconnect cleanup and the ring sweeper in the gateway.
        from chat import hooks
        from voice import actions, gateway  # noqa: F401

        # Voice ends with the access: chat tells us after each change that may take it away.
        if actions.revoke_lost_access not in hooks.access_changed:
            hooks.access_changed.append(actions.revoke_lost_access)
