"""JSON from clients, read as the original's parser (serde_json) reads it.

Python's ``json.loads`` is more lenient and less robust: it takes bytes in UTF-16 or UTF-32,
``NaN`` and ``Infinity``, numbers too large for a float (as infinity), and ``\\ud800`` escapes
that leave a string no database or hash can take; and a deeply nested document (a 200 KB
``[[[...`` is well within the body limit) raises ``RecursionError``. Each of those is malformed
JSON here (``InvalidJson``, a ``ValueError``): REST answers 400, the gateway ``Invalid message
format``, and nothing turns into a 500 or a dropped socket.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# A \\u escape of a UTF-16 surrogate: the only way JSON text can yield an unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class InvalidJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJson("number out of range")
    return value


# One decoder: json.loads with options would build a new one (and its scanner) per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def loads(data: bytes | str) -> Any:
    """Parse a client's JSON document; ``InvalidJson`` when it is not strict JSON."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")  # strict: no other encoding, no lone surrogates
        except UnicodeDecodeError as error:
            raise InvalidJson(f"invalid UTF-8: {error.reason}") from None
    else:
        text = data
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise InvalidJson("recursion limit exceeded") from None
    except InvalidJson:
        raise
    except ValueError as error:  # JSONDecodeError (a BOM included), digits beyond int's limit
        raise InvalidJson(str(error)) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        _check_pairs(value)
    return value


def _check_pairs(value: Any) -> None:
    """Escaped surrogates are valid only in pairs, which decode to one character (rare: walked
    only when the text has such an escape). An unpaired one fails to encode."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _encode(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _encode(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _encode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("lone leading or trailing surrogate in a \\u escape") from None
