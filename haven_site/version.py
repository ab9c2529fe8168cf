"""Haven's version: pyproject.toml of the checkout, else the installed distribution's metadata."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import metadata

from haven_site.config import BASE_DIR


@cache
def haven_version() -> str:
    pyproject = BASE_DIR / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    try:
        return metadata.version("haven-django")
    except metadata.PackageNotFoundError:
        return "unknown"
