"""The Django admin's sign-in holds to the API's rules: an instance admin with TOTP enabled must
give a current code, and every attempt counts against the auth limiter of ``/api/v1/auth/login``
(the same per-address budget), so that once it is spent even the right password is refused."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from haven_site import ratelimit
from haven_site.api.errors import Unauthorized

TOO_MANY_ATTEMPTS = "Too many sign-in attempts from your address. Try again in a minute."


class TotpAdminAuthenticationForm(AdminAuthenticationForm):
    totp_code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Only if two-factor authentication is on for your account.",
    )

    def confirm_login_allowed(self, user: Any) -> None:
        """After the password: a suspended account, or one that must first choose a new
        password in the app, does not get in (docs/moderation.md)."""
        if user.is_suspended:
            raise forms.ValidationError("This account is suspended.", code="suspended")
        if user.password_change_required:
            raise forms.ValidationError(
                "Choose a new password in the app first, then sign in here.",
                code="password_change_required",
            )
        super().confirm_login_allowed(user)

    def clean(self) -> dict[str, Any]:
        # Before the password is checked: over the limit, no answer says whether it was right.
        address = self.request.META.get("REMOTE_ADDR") if self.request is not None else None
        if not ratelimit.auth_allowed(address):
            raise forms.ValidationError(TOO_MANY_ATTEMPTS, code="rate_limited")
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and user.totp_enabled:
            from accounts.actions.auth import check_totp_code

            try:
                check_totp_code(user, cleaned.get("totp_code") or "")
            except Unauthorized:
                raise forms.ValidationError("Invalid or missing two-factor code.") from None
        return cleaned
