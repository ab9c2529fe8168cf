"""Authentication routes (api.md 2.1-2.3)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import pow
from accounts.actions import auth, sessions
from accounts.actions import totp as totp_actions
from accounts.api.limits import AuthRateLimitedView, client_agent, client_ip
from accounts.api.schemas import (
    DeleteAccountBody,
    LoginBody,
    PasswordBody,
    RefreshBody,
    RegisterBody,
    TotpCodeBody,
)
from accounts.shapes import auth_response, session_shape
from haven_site.api.parsing import parse_body
from haven_site.api.views import ApiView


def _client(request: Request) -> auth.Client:
    return auth.Client(user_agent=client_agent(request), ip=client_ip(request))


class ChallengeView(AuthRateLimitedView):
    def get(self, request: Request) -> Response:
        body: dict[str, Any] = {
            "challenge": pow.issue_challenge(),
            "difficulty": pow.difficulty(),
        }
        if settings.HAVEN.turnstile_enabled:
            body["turnstile_site_key"] = settings.HAVEN.turnstile_site_key
        return Response(body)


class RegisterView(AuthRateLimitedView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, RegisterBody)
        auth.check_register(body)
        user, tokens = auth.do_register(body, _client(request))
        return Response(auth_response(user, tokens.access, tokens.refresh))


class LoginView(AuthRateLimitedView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, LoginBody)
        result = auth.do_login(
            body["username"],
            body["password"],
            body["totp_code"],
            _client(request),
            new_password=body["new_password"],
        )
        if result.totp_required or result.user is None or result.tokens is None:
            return Response({"totp_required": True})
        return Response(auth_response(result.user, result.tokens.access, result.tokens.refresh))


class RefreshView(AuthRateLimitedView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, RefreshBody)
        user, tokens = sessions.do_refresh(body["refresh_token"])
        return Response(auth_response(user, tokens.access, tokens.refresh))


class LogoutView(ApiView):
    def post(self, request: Request) -> Response:
        auth.do_logout(self.user)
        return Response({"message": "Logged out"})


class PasswordView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, PasswordBody)
        auth.do_change_password(self.user, body["current_password"], body["new_password"])
        return Response({"message": "Password changed"})


class DeleteAccountView(ApiView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, DeleteAccountBody)
        auth.do_delete_account(self.user, body["password"])
        return Response(status=204)


class TotpSetupView(ApiView):
    def post(self, request: Request) -> Response:
        return Response(totp_actions.do_setup(self.user))


class TotpVerifyView(ApiView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, TotpCodeBody)
        totp_actions.do_verify(self.user, body["code"])
        return Response({"message": "TOTP verified and enabled"})


class TotpView(ApiView):
    def delete(self, request: Request) -> Response:
        totp_actions.do_disable(self.user)
        return Response({"message": "TOTP disabled"})


class SessionsView(ApiView):
    def get(self, request: Request) -> Response:
        current = getattr(self.user, "session_id", None)
        return Response(
            [
                session_shape(session, token.id, token.created_at, current)
                for session, token in sessions.live_sessions(self.user)
            ]
        )


class SessionView(ApiView):
    def delete(self, request: Request, family_id: Any) -> Response:
        sessions.do_revoke_session(self.user, family_id)
        return Response({"message": "Session revoked"})
