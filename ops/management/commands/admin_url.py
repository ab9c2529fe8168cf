"""``manage.py admin_url``: where the Django admin is (ADMIN_URL, docs/configuration.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Print the address of the Django admin. In production it is not /admin/: ADMIN_URL, "
        "or a path derived from the instance's secrets when ADMIN_URL is unset."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        config = settings.HAVEN
        path = f"/{config.admin_url}"
        self.stdout.write(f"https://{config.domain}{path}" if config.domain else path)
