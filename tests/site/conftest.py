"""Fixtures of the site's tests."""

from __future__ import annotations

import pytest

from haven_site import epochs


@pytest.fixture
def epoch_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names of each read of the cache epochs of its own (``epochs._read``), from now on."""
    reads: list[list[str]] = []
    original = epochs._read

    def read(names: list[str]) -> dict[str, str | None]:
        reads.append(names)
        return original(names)

    monkeypatch.setattr(epochs, "_read", read)
    return reads
