"""Clients' JSON is read as the original's parser reads it (haven_site.api.strict_json): what
serde_json refuses is malformed here too, and nothing raises past ``InvalidJson``."""

from __future__ import annotations

from typing import Any

import pytest

from chat.meta import readable_name
from haven_site.api.strict_json import InvalidJson, loads


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b'{"a": [1, 2.5, "x", null, true]}', {"a": [1, 2.5, "x", None, True]}),
        ('"\\ud83d\\ude00"', "\U0001f600"),  # an escaped pair is one character
        ("1e308", 1e308),
    ],
)
def test_json_is_read_as_usual(text: bytes | str, value: Any) -> None:
    assert loads(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "NaN",
        "-Infinity",
        "1e400",
        '"\\ud800"',
        '{"\\udc00": 1}',
        '["ok", {"deep": "\\ud83d"}]',
        b"\xef\xbb\xbf{}",
        '{"a": 1}'.encode("utf-16"),
        b'{"a": "\xff"}',
        "1" * 5000,
        "{",
    ],
    ids=[
        "deep",
        "nan",
        "infinity",
        "overflow",
        "lone-high",
        "lone-in-key",
        "nested-lone",
        "bom",
        "utf-16",
        "bad-utf-8",
        "digits",
        "syntax",
    ],
)
def test_what_serde_json_refuses_is_invalid(text: bytes | str) -> None:
    with pytest.raises(InvalidJson):
        loads(text)


def test_a_deep_meta_reads_as_a_raw_name_without_error() -> None:
    """Not JSON to the strict reader: e2ee.md 8.1's raw string name, clipped (it used to raise
    RecursionError into whatever showed the name)."""
    name = readable_name(("[" * 10_000 + "]" * 10_000).encode())
    assert name is not None
    assert name.startswith("[[[")
    assert len(name) < 200
