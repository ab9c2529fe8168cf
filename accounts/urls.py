"""REST routes of the accounts app (api.md 2.1-2.3, 2.26; the profile card and the instance's
numbers are chat's routes)."""

from django.urls import path

from accounts.api import admin, auth, images, keys, users

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
    path("users/avatar", images.AvatarUploadView.as_view()),
    path("users/banner", images.BannerUploadView.as_view()),
    path("users/<id:user_id>/avatar", images.AvatarView.as_view()),
    path("users/<id:user_id>/banner", images.BannerView.as_view()),
    path("users/search", users.UserSearchView.as_view()),
    path("users/profile", users.MyProfileView.as_view()),
    path("users/blocked", users.BlockedUsersView.as_view()),
    path("users/profile-keys", users.ProfileKeysView.as_view()),
    path("users/<id:user_id>/block", users.BlockView.as_view()),
    path("users/<id:user_id>/profile-key", users.ProfileKeyView.as_view()),
    path("users/<id:user_id>/keys", keys.UserKeysView.as_view()),
    path("keys/identity", keys.IdentityView.as_view()),
    path("keys/prekeys", keys.PrekeysView.as_view()),
    path("keys/prekeys/count", keys.PrekeyCountView.as_view()),
    path("keys/backup", keys.BackupView.as_view()),
    path("keys/backup/status", keys.BackupStatusView.as_view()),
    path("admin/users", admin.AdminUsersView.as_view()),
    path("admin/users/<id:user_id>/admin", admin.AdminUserAdminFlagView.as_view()),
    path("admin/users/<id:user_id>", admin.AdminUserView.as_view()),
]
