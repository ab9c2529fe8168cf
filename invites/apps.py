from django.apps import AppConfig


class InvitesConfig(AppConfig):
    name = "invites"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import hooks
        from invites.actions.registration import check_on_registering, spend_on_registered

        # Invite-only registration (operations.md 3): checked and spent with the account.
        hooks.registering.connect(check_on_registering)
        hooks.registered.connect(spend_on_registered)
