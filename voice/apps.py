from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Call signalling, disconnect cleanup and the ring sweeper in the gateway.
        from voice import gateway  # noqa: F401
