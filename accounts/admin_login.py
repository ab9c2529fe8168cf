"""The Django admin's sign-in honours two-factor authentication: an instance admin with TOTP
enabled must give a current code, exactly as at the API's login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from haven_site.api.errors import Unauthorized


class TotpAdminAuthenticationForm(AdminAuthenticationForm):
    totp_code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Only if two-factor authentication is on for your account.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and user.totp_enabled:
            from accounts.actions.auth import check_totp_code

            try:
                check_totp_code(user, cleaned.get("totp_code") or "")
            except Unauthorized:
                raise forms.ValidationError("Invalid or missing two-factor code.") from None
        return cleaned
