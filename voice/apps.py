from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Call signalling, disconnect cleanup and the ring sweeper in the gateway.
        from accounts import hooks as accounts_hooks
        from chat import hooks as chat_hooks
        from voice import actions, gateway  # noqa: F401

        # Voice ends with the access: chat tells us after each change that may take it away.
        chat_hooks.access_changed.connect(actions.revoke_lost_access)
        # ... and with the account's sessions, or the account.
        accounts_hooks.signed_out.connect(actions.leave_on_sign_out)
        accounts_hooks.login_session_ended.connect(actions.leave_on_session_ended)
        accounts_hooks.user_leaving.connect(actions.leave_on_account_deleted)
