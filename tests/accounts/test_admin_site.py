"""The Django admin as a whole (docs/moderation.md): nobody but an active instance admin reaches
any of its pages or any admin API route; its front page shows the instance's numbers; it lives at
ADMIN_URL; it wears the app's colours."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.actions.admin import do_suspend
from accounts.actions.instance_audit import Actor
from accounts.models import InstanceAuditEntry, User
from chat.models import Report
from tests.factories import (
    make_server,
    post,
)
from tests.helpers import Api, haven_settings
from tests.processes import HavenProcess, embedded_env, manage

pytestmark = pytest.mark.django_db

FAKE_ID = str(uuid.uuid4())


def _admin_paths() -> list[str]:
    """Every URL of the admin site, with its parameters filled in."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                assert isinstance(pattern, URLPattern)
                found.append(prefix + str(pattern.pattern))

    walk(admin.site.get_urls(), "/admin/")
    paths = []
    for raw in found:
        text = raw.replace("^", "").replace("$", "")
        apps = re.search(r"\(\?P<app_label>([a-z_|]+)\)", text)
        if apps:  # one index page per app
            paths += [text.replace(apps.group(0), app) for app in apps.group(1).split("|")]
            continue
        text = text.replace("(?P<url>.*)", "nowhere/")  # the catch-all
        text = re.sub(r"<[a-z]+:content_type_id>", "1", text).replace("<path:object_id>", FAKE_ID)
        assert "<" not in text, text
        assert "(" not in text, text
        paths.append(text)
    return paths


ADMIN_PATHS = _admin_paths()
PUBLIC = {"/admin/login/", "/admin/logout/"}  # logging out would end the visit under test


def _signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_list_of_admin_pages_is_complete() -> None:
    for expected in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{FAKE_ID}/moderate/",
        f"/admin/chat/report/{FAKE_ID}/decide/",
        f"/admin/chat/server/{FAKE_ID}/act/",
        "/admin/accounts/instanceauditentry/",
        "/admin/chat/",
    ):
        assert expected in ADMIN_PATHS, expected
    assert len(ADMIN_PATHS) > 80


def test_no_admin_page_answers_anyone_but_an_active_instance_admin(api: Api) -> None:
    root, bob = api.register("root"), api.register("bob")
    api.register("mallory")
    do_suspend(Actor.command("test"), User.objects.get(username="mallory"), reason="x")
    User.objects.filter(username="mallory").update(is_instance_admin=True)
    fx = make_server(User.objects.get(id=root.id))
    report = Report.objects.create(
        reporter_id=bob.id,
        message_id=post(fx.channel, User.objects.get(id=bob.id)).id,
        channel_id=fx.channel.id,
        reason="spam spam spam",
    )
    visitors = {
        "anonymous": Client(),
        "member": _signed_in("bob"),
        "suspended": _signed_in("mallory"),
    }
    for who, client in visitors.items():
        for path in ADMIN_PATHS:
            if path in PUBLIC:
                continue
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code == 302, (who, method, path, response.status_code)
                assert response["Location"].startswith("/admin/login/"), (who, path)
        # Forms aimed straight at the desk's actions do nothing.
        for path, form in (
            (f"/admin/chat/report/{report.id}/decide/", {"kind": "dismiss"}),
            (f"/admin/accounts/user/{bob.id}/moderate/", {"op": "grant_admin"}),
            (
                f"/admin/chat/server/{fx.server.id}/act/",
                {"op": "delete", "reason": "x", "confirm": "1"},
            ),
        ):
            assert client.post(path, form).status_code == 302
    assert Report.objects.get(id=report.id).status == "pending"
    assert not User.objects.get(id=bob.id).is_instance_admin
    assert [e.action for e in InstanceAuditEntry.objects.all()] == ["user_suspend"]
    # The same pages do answer an instance admin.
    assert _signed_in("root").get("/admin/chat/report/?status__exact=pending").status_code == 200


def _admin_api_routes() -> list[tuple[str, Any]]:
    routes = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif (prefix + str(pattern.pattern)).startswith("api/v1/admin/"):
                routes.append((prefix + str(pattern.pattern), pattern.callback.view_class))

    walk(get_resolver().url_patterns, "")
    return routes


def test_no_admin_api_route_answers_a_member(api: Api) -> None:
    api.register("root")
    member = api.register("bob")
    routes = _admin_api_routes()
    assert len(routes) >= 7
    for route, view in routes:
        path = "/" + re.sub(r"<id:[a-z_]+>", FAKE_ID, route)
        methods = [m for m in ("get", "post", "put", "delete") if hasattr(view, m)]
        for method in methods:
            body: dict[str, object] | None = None if method == "get" else {}
            as_member = api.request(method, path, body, token=member.access_token)
            assert as_member.json() == {"error": "Instance admin access required", "status": 403}
            assert api.request(method, path, body, token="").status_code == 401, path


def test_the_front_page_shows_the_instance(api: Api) -> None:
    root = api.register("root")
    bob = api.register("bob")
    api.register("carol")
    fx = make_server(User.objects.get(id=root.id))
    for _ in range(3):
        post(fx.channel, User.objects.get(id=bob.id))
    Report.objects.create(
        reporter_id=bob.id, message_id=uuid.uuid4(), channel_id=fx.channel.id, reason="r" * 10
    )
    do_suspend(
        Actor.admin(User.objects.get(id=root.id)), User.objects.get(username="carol"), reason="Spam"
    )
    page = _signed_in("root").get("/admin/").content.decode()

    def stat(name: str) -> str:
        found = re.search(rf'id="stat-{name}">(\d+)<', page)
        assert found, name
        return found.group(1)

    assert [stat(n) for n in ("open-reports", "users", "suspended", "servers", "messages")] == [
        "1",
        "3",
        "1",
        "1",
        "3",
    ]
    assert stat("connected") == "0"
    days = re.findall(r"<tr><td>[^<]+</td><td>(\d+)</td>", page)
    assert len(days) == 7
    assert days[-1] == "3"  # today
    assert "Moderation desk" in page
    assert "Instance audit log" in page
    assert "root: user_suspend carol" in page
    assert "Channel categories" in page
    assert "Channel categorys" not in page


def test_the_admin_wears_the_apps_dark_palette(api: Api) -> None:
    api.register("root")
    for client, path in ((Client(), "/admin/login/"), (_signed_in("root"), "/admin/")):
        page = client.get(path).content.decode()
        assert 'html[data-theme="dark"]' in page, path
        assert "--body-bg: #313338" in page  # the app's chat background
        assert "prefers-color-scheme: dark" in page
        assert "Haven administration" in page


def test_admin_url_moves_the_admin(tmp_path: Path) -> None:
    """A real server with ADMIN_URL set: the admin answers there, and /admin/ is just the app."""
    env = embedded_env(tmp_path, ADMIN_URL="/staff-desk/")
    manage("migrate", "--noinput", "-v", "0", env=env)
    assert manage("admin_url", env=env).stdout.strip() == "/staff-desk/"
    server = HavenProcess(tmp_path, name="admin-url", base=env).start()
    try:
        moved = httpx.get(f"{server.url}/staff-desk/login/", timeout=10)
        assert moved.status_code == 200
        assert "Haven administration" in moved.text
        old = httpx.get(f"{server.url}/admin/login/", timeout=10)
        assert "Haven administration" not in old.text  # the browser client's page
        anonymous = httpx.get(f"{server.url}/staff-desk/", timeout=10)
        assert anonymous.status_code == 302
        assert anonymous.headers["location"].startswith("/staff-desk/login/")
    finally:
        server.stop()


def test_admin_url_command_prints_the_production_address() -> None:
    out = io.StringIO()
    with haven_settings(domain="chat.example.org", admin_url="admin-0123456789abcdef/"):
        call_command("admin_url", stdout=out)
    assert out.getvalue().strip() == "https://chat.example.org/admin-0123456789abcdef/"
