from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.helpers import Api, using_postgres, using_redis


@pytest.fixture(autouse=True)
def _fast_isolated(settings: object) -> Iterator[None]:
    """Cheap password hashing (same Argon2id format) and an empty cache for every test."""
    settings.ARGON2_MEMORY_COST_KIB = 1024  # type: ignore[attr-defined]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db: None) -> Api:
    return Api()


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """A private MEDIA_ROOT for one test (stored files: avatars, icons, emojis, attachments)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    skip_redis = pytest.mark.skip(reason="needs Redis (set REDIS_URL)")
    for item in items:
        if "postgres" in item.keywords and not using_postgres():
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not using_redis():
            item.add_marker(skip_redis)
