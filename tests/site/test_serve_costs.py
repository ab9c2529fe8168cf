"""Twisted work per HTTP request that haven_site.serve leaves out (docs/performance.md)."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.web import http

from haven_site.serve import HavenHTTPFactory, _media_type

ORIGINAL_PARSER = http._parseContentType


@pytest.mark.parametrize(
    "header",
    [
        b"application/json",
        b"application/json; charset=utf-8",
        b"Application/JSON ;charset=UTF-8",
        b"application/x-www-form-urlencoded",
        b'multipart/form-data; boundary="abc"',
        b"text/plain",
    ],
)
def test_the_media_type_is_what_twisted_would_parse(header: bytes) -> None:
    """Twisted only compares it with the two form types, whose fields it then parses."""
    assert _media_type(header) == ORIGINAL_PARSER(header)


def test_twisted_writes_no_access_line_of_its_own() -> None:
    written: list[Any] = []
    factory = HavenHTTPFactory(server=None)
    factory._logFile = type("File", (), {"write": lambda self, line: written.append(line)})()
    factory.log(object())  # Twisted's own would format the request and write a line
    assert written == []
