from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.models import DeviceSession, User
        from haven_site import epochs

        # Behind the per-process session check (accounts.authentication.live_user).
        epochs.watch("auth", User._meta.db_table, DeviceSession._meta.db_table)
        epochs.install()
