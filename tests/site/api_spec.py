"""What ``../shared/spec/api.md`` says about each route, read from its text: the route index
(2.0), the shared response objects (1.9), and per route the JSON body fields and the success
answer. The schema tests compare the served OpenAPI document with this reading.

The spec is prose written for people, so the reader recognises the forms it uses ("Body (JSON):
`name` string (req), ...", a field table, "Response `200`: ServerResponse[]", a JSON literal,
"array of `{a, b (nullable)}`") and says ``None`` where it finds none; the tests then name the
routes they describe by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "api.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TYPE_WORDS = r"(?:non-negative )?(perm string|string|b64|uuid|int|bool|number|perm|ts)(\[\])?"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the spec's word: uuid, string, int, bool, ts, b64, perm, number, array, any
    required: bool = True  # request: must be sent; answer: always present
    nullable: bool = False
    items: str | None = None  # the element type of an array


@dataclass
class Answer:
    """A route's success answer as the spec gives it."""

    status: int = 200
    component: str | None = None  # a 1.9 object, e.g. ServerResponse
    many: bool = False  # an array of ``component`` or of ``fields``
    fields: list[Field] | None = None  # an inline object
    values: dict[str, object] = field(default_factory=dict)  # literal values of those fields
    kind: str = "json"  # json, null, empty, bytes, uuid-array


@dataclass
class Route:
    number: int
    method: str
    path: str
    text: str = ""  # its section in section 2
    body: list[Field] | None = None  # None: no JSON body
    raw_body: bool = False
    answer: Answer | None = None


def available() -> bool:
    return SPEC.is_file()


@cache
def spec_text() -> str:
    return SPEC.read_text()


@cache
def routes() -> list[Route]:
    found = [
        Route(int(m[1]), m[2], m[3])
        for m in re.finditer(r"^\| (\d+) \| (\w+) \| (/api/v1/\S+) \|", spec_text(), re.M)
    ]
    sections = _sections()
    for route in found:
        route.text = sections.get((route.method, route.path), "")
        route.body = _body(route.text)
        route.raw_body = "Raw body" in route.text
        route.answer = _answer(route.text, route.method, route.path)
    return found


def _sections() -> dict[tuple[str, str], str]:
    """The text under each ``#### METHOD path`` heading (a heading may name two routes)."""
    text = spec_text().split("\n## 2. Routes", 1)[1].split("\n## 3.", 1)[0]
    parts = re.split(r"^#### (.*)$", text, flags=re.M)
    sections: dict[tuple[str, str], str] = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        named = re.findall(rf"({'|'.join(METHODS)}) (/api/v1/[^\s?]*)", heading)
        for index, (method, path) in enumerate(named):
            # "POST /users/banner / GET /users/{id}/banner": the second route is described
            # "same as the avatar routes"; only the first one is read from this text.
            sections[(method, path)] = body if index == 0 else ""
    return sections


# --- Bodies --------------------------------------------------------------------------------------


def _body(text: str) -> list[Field] | None:
    match = re.search(r"Body \(JSON\)(.*?)(?:\n\n|\n\d+\. |\n\* |$)", text, re.S)
    if match is None:
        return None
    inline = match.group(1)
    if not inline.strip(" :,\n").replace("all optional", "").strip(" :,"):
        table = re.search(r"\| Field \| Type \| Req \|.*?\n\|[-|]+\|\n((?:\|.*\n)+)", text)
        return _table(table.group(1), required_column=True) if table else []
    everything_optional = "all optional" in inline
    everything_required = "(all req)" in inline
    fields = []
    starts = list(re.finditer(rf"`(\w+)`(?= {TYPE_WORDS}| \()", inline))
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(inline)
        segment = inline[start.end() : end]
        kind = re.match(rf" {TYPE_WORDS}", segment)
        if kind:
            base, is_array = _normal(kind.group(1)), bool(kind.group(2))
        else:  # "`order` (req) = array of `{...}`"
            base, is_array = "object", "array of" in segment
        required = (
            "(req" in segment or everything_required or "req;" in segment
        ) and not everything_optional
        fields.append(
            Field(
                start.group(1),
                "array" if is_array else base,
                required=required,
                items=base if is_array else None,
            )
        )
    return fields


def _normal(word: str) -> str:
    return "perm" if word.startswith("perm") else word


def _table(rows: str, *, required_column: bool) -> list[Field]:
    fields: list[Field] = []
    for row in rows.strip().splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        name, kind = cells[0], cells[1]
        names = [n.strip() for n in name.split(",")]
        if required_column:
            required = cells[2] == "yes"
            nullable = False
        else:
            presence = cells[2] if len(cells) > 2 else "always"
            if presence.startswith("never"):  # e.g. ChannelResponse.last_message_id
                continue
            required = not presence.startswith(("omitted", "present only", "present (and"))
            nullable = presence.startswith("nullable") or kind.startswith("nullable")
        if kind.startswith("as in "):  # "id, username, ... | as in UserPublic | always"
            same = {f.name: f for f in components()[kind.removeprefix("as in ")]}
            fields.extend(same[each] for each in names)
            continue
        base = kind.split()[0].rstrip(",") if kind else "any"
        base = "any" if base == "nullable" else base
        for each in names:
            if base.endswith("[]"):
                fields.append(Field(each, "array", required, nullable, items=base[:-2]))
            else:
                fields.append(Field(each, base, required, nullable))
    return fields


# --- Answers -------------------------------------------------------------------------------------


def components() -> dict[str, list[Field]]:
    """The shared objects of 1.9: tables, and the one-line ``**Name**: `a` type, ...`` forms."""
    text = spec_text().split("### 1.9", 1)[1].split("### 1.10", 1)[0]
    found: dict[str, list[Field]] = {}
    for match in re.finditer(r"^\*\*(\w+)\*\*\n\n\| Field.*\n\|[-|]+\|\n((?:\|.*\n)+)", text, re.M):
        found[match.group(1)] = _table(match.group(2), required_column=False)
    for match in re.finditer(r"^\*\*(\w+)\*\*: (.*?)(?=\n\n|\Z)", text, re.M | re.S):
        found[match.group(1)] = _one_line(match.group(2))
    return found


def _one_line(text: str) -> list[Field]:
    """```id` uuid, `name` string, `color` string nullable, `user_ids` uuid[] (in order...)```;
    a field name inside parentheses (``(`user` (UserPublic))``) is taken as written."""
    fields = []
    starts = list(re.finditer(r"`(\w+)` (?:\()?(\w+(?:\[\])?)", _drop_parentheses(text)))
    for match in starts:
        name, kind = match.group(1), match.group(2)
        tail = _drop_parentheses(text)[match.end() : match.end() + 30]
        nullable = bool(re.match(r"\s*(?:value\s+)?nullable", tail)) or kind == "nullable"
        kind = "any" if kind in ("nullable", "JSON") else kind
        if kind.endswith("[]"):
            fields.append(Field(name, "array", True, nullable, items=kind[:-2]))
        else:
            fields.append(Field(name, kind, True, nullable))
    return fields


def _drop_parentheses(text: str) -> str:
    """Remarks in parentheses, except a type in them (``(UserPublic)``)."""
    return re.sub(r" \((?!\w+\))[^()]*(?:\([^()]*\)[^()]*)*\)", "", text)


def _answer(text: str, method: str, path: str) -> Answer | None:
    if re.search(r"`?204`? with\s+(?:an\s+)?empty\s+body", text):
        return Answer(status=204, kind="empty")
    if re.search(r"`200` with the raw bytes|`200` raw\s+bytes", text):
        return Answer(kind="bytes")
    match = re.search(r"(?:Response|Always)\s+`200`(.*?)(?:\n\n|$)", text, re.S)
    if match is None:
        return None
    rest = match.group(1)
    if re.match(r"\s*(?:with )?body `null`", rest):
        return Answer(kind="null")
    if re.match(r":?\s*uuid\[\]", rest):
        return Answer(kind="uuid-array")
    literal = re.match(r":?\s*(?:array\b[^`]*?\bof\s*)?`(\{.*?\})`", rest, re.S)
    if literal:
        many = rest.lstrip(": \n").startswith("array")
        return _literal(literal.group(1), many=many)
    if re.match(r":?\s*(?:array of\s*)?$", rest):  # a field table follows
        table = re.search(
            r"`200`:?\s*(?:array of)?\s*\n\n\| Field \| Type \|.*?\n\|[-|]+\|\n((?:\|.*\n)+)", text
        )
        if table:
            fields = _table(table.group(1), required_column=False)
            return Answer(fields=fields, many="array of" in rest)
        return None
    named = re.match(r":?\s*(?:the |an |updated |the updated )*([A-Z]\w+)(\[\])?", rest)
    if named:
        return Answer(component=named.group(1), many=bool(named.group(2)))
    return None


def _literal(text: str, *, many: bool) -> Answer:
    """``{"message": "Logged out"}``, ``{"count": <unused count>, ...}``, ``{"x": b64 | null}``,
    ``{"url": string, "title"?: string}`` or ``{user_id, username, display_name (nullable)}``:
    the top-level keys, their types when named, literal values when given."""
    inner = text.strip()[1:-1]
    answer = Answer(fields=[], many=many)
    assert answer.fields is not None
    for part in _top_level(inner):
        part = part.strip()
        quoted = re.match(r'"(\w+)"(\?)?:\s*(.*)$', part, re.S)
        if quoted:
            name, optional, value = quoted.group(1), bool(quoted.group(2)), quoted.group(3).strip()
        else:  # {user_id, display_name (nullable), is_instance_admin: bool}
            bare = re.match(r"(\w+)(.*)$", part, re.S)
            if bare is None:
                continue
            name, optional, value = bare.group(1), False, bare.group(2).strip(" ():")
        kind, nullable, literal = _value(value)
        answer.fields.append(Field(name, kind, not optional, nullable))
        if literal is not None:
            answer.values[name] = literal
    return answer


def _value(value: str) -> tuple[str, bool, object | None]:
    nullable = "| null" in value or value.startswith("nullable")
    value = value.replace("| null", "").strip()
    if value.startswith('"') and not value.startswith('"<'):
        return "string", nullable, value.strip('"')
    if value in ("true", "false"):
        return "bool", nullable, value == "true"
    if value.startswith('"<'):
        return "string", nullable, None
    if not value or value.startswith("<"):  # untyped, or a placeholder such as <count>
        return "any", nullable, None
    if value.startswith("["):
        return "array", nullable, None
    word = re.match(r"(\w+)", value.strip("<( "))
    kind = word.group(1) if word else "any"
    known = {"uuid", "string", "int", "bool", "ts", "b64", "perm", "number", "nullable"}
    if kind == "nullable":
        return "any", True, None
    return (kind if kind in known else "int"), nullable, None


def _top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "[{(" and not quoted:
            depth += 1
        elif char in "]})" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]
