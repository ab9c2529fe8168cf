"""Daphne, Twisted and Autobahn stay behind haven_site.server (and haven_site.serve and
haven_site.shutdown, which start and stop it): the apps import none of them, so an upgrade of the
server stack touches one package (haven_site.server.contract lists what that package relies on)."""

from __future__ import annotations

import ast

import pytest

from tests.processes import ROOT

APPS = ("chat", "accounts", "voice", "invites", "ops")
SERVER_STACK = {"daphne", "twisted", "autobahn"}


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("app", APPS)
def test_the_apps_do_not_import_the_server_stack(app: str) -> None:
    offenders = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        found = imported_roots(ast.parse(path.read_text(), str(path))) & SERVER_STACK
        if found:
            offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert not offenders, f"import these through haven_site.server instead: {offenders}"
