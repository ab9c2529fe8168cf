"""REST routes of the accounts app (api.md 2.1-2.3, 2.26)."""

from django.urls import path

from accounts.api import admin, auth

urlpatterns = [
    path("auth/challenge", auth.ChallengeView.as_view()),
    path("auth/register", auth.RegisterView.as_view()),
    path("auth/login", auth.LoginView.as_view()),
    path("auth/refresh", auth.RefreshView.as_view()),
    path("auth/logout", auth.LogoutView.as_view()),
    path("auth/password", auth.PasswordView.as_view()),
    path("auth/delete-account", auth.DeleteAccountView.as_view()),
    path("auth/totp/setup", auth.TotpSetupView.as_view()),
    path("auth/totp/verify", auth.TotpVerifyView.as_view()),
    path("auth/totp", auth.TotpView.as_view()),
    path("auth/sessions", auth.SessionsView.as_view()),
    path("auth/sessions/<id:family_id>", auth.SessionView.as_view()),
    path("admin/stats", admin.AdminStatsView.as_view()),
    path("admin/users", admin.AdminUsersView.as_view()),
    path("admin/users/<id:user_id>/admin", admin.AdminUserAdminFlagView.as_view()),
    path("admin/users/<id:user_id>", admin.AdminUserView.as_view()),
]
