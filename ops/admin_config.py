"""``django.contrib.admin`` with Haven's admin site as the default site (ops.admin_site)."""

from django.contrib.admin.apps import AdminConfig


class HavenAdminConfig(AdminConfig):
    default_site = "ops.admin_site.HavenAdminSite"
