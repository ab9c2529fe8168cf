"""Channel categories (api.md 2.8)."""

from __future__ import annotations

import uuid

import pytest

from chat.models import Channel, ChannelCategory
from chat.permissions import Permission
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def sid(api: Api) -> str:
    for name in ("alice", "bob", "carol"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")
    return str(server["id"])


def make(api: Api, sid: str, name: str, position: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"name": name}
    if position is not None:
        body["position"] = position
    response = api.as_("alice").post(f"{P}/servers/{sid}/categories", body)
    assert response.status_code == 200, response
    return response.json()


def test_create_and_list_categories(api: Api, sid: str) -> None:
    b = make(api, sid, "B", 2)
    a = make(api, sid, "")  # empty names are allowed
    assert set(a) == {"id", "server_id", "name", "position", "created_at"}
    assert (a["name"], a["position"], a["server_id"]) == ("", 0, sid)
    listed = api.as_("bob").get(f"{P}/servers/{sid}/categories").json()
    assert [c["id"] for c in listed] == [a["id"], b["id"]]


def test_category_errors(api: Api, sid: str) -> None:
    long = api.as_("alice").post(f"{P}/servers/{sid}/categories", {"name": "x" * 101})
    assert (long.status_code, long.json()["error"]) == (
        400,
        "Category name must be at most 100 characters",
    )
    assert api.as_("alice").post(f"{P}/servers/{sid}/categories", {}).status_code == 422
    assert api.as_("alice").post(f"{P}/servers/{sid}/categories", {"name": 1}).status_code == 422
    denied = api.as_("bob").post(f"{P}/servers/{sid}/categories", {"name": "x"})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    outsider = api.as_("carol").get(f"{P}/servers/{sid}/categories")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = api.as_("alice").post(f"{P}/servers/{uuid.uuid4()}/categories", {"name": "x"})
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    grant(api, "alice", sid, "bob", int(Permission.MANAGE_CHANNELS))
    assert api.as_("bob").post(f"{P}/servers/{sid}/categories", {"name": "x"}).status_code == 200


def test_reorder_categories(api: Api, sid: str) -> None:
    a = make(api, sid, "A", 0)
    b = make(api, sid, "B", 1)
    other = create_server(api, "carol")
    foreign = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "F"}).json()
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/categories/reorder",
        {
            "order": [
                {"id": a["id"], "position": 5},
                {"id": b["id"], "position": 1},
                {"id": foreign["id"], "position": 9},
            ]
        },
    )
    assert (response.status_code, response.json()) == (200, {"message": "Categories reordered"})
    listed = api.as_("alice").get(f"{P}/servers/{sid}/categories").json()
    assert [(c["id"], c["position"]) for c in listed] == [(b["id"], 1), (a["id"], 5)]
    assert ChannelCategory.objects.get(id=foreign["id"]).position == 0
    bad = api.as_("alice").put(
        f"{P}/servers/{sid}/categories/reorder", {"order": [{"id": a["id"]}]}
    )
    assert bad.status_code == 422
    assert (
        api.as_("bob").put(f"{P}/servers/{sid}/categories/reorder", {"order": []}).status_code
        == 403
    )


def test_update_category(api: Api, sid: str) -> None:
    a = make(api, sid, "A", 3)
    response = api.as_("alice").put(f"{P}/servers/{sid}/categories/{a['id']}", {"name": "Z"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["position"]) == ("Z", 3)
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/categories/{a['id']}", {"name": None, "position": 8}
    )
    assert (response.json()["name"], response.json()["position"]) == ("Z", 8)
    other = create_server(api, "carol")
    foreign = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "F"}).json()
    for category_id in (foreign["id"], str(uuid.uuid4())):
        missing = api.as_("alice").put(f"{P}/servers/{sid}/categories/{category_id}", {})
        assert (missing.status_code, missing.json()["error"]) == (404, "Category not found")
    assert api.as_("bob").put(f"{P}/servers/{sid}/categories/{a['id']}", {}).status_code == 403
    long = api.as_("alice").put(f"{P}/servers/{sid}/categories/{a['id']}", {"name": "x" * 101})
    assert long.status_code == 400


def test_delete_category_keeps_its_channels(api: Api, sid: str) -> None:
    a = make(api, sid, "A")
    channel = api.as_("alice").post(
        f"{P}/servers/{sid}/channels", {"encrypted_meta": "", "category_id": a["id"]}
    )
    response = api.as_("bob").delete(f"{P}/servers/{sid}/categories/{a['id']}")
    assert response.status_code == 403
    response = api.as_("alice").delete(f"{P}/servers/{sid}/categories/{a['id']}")
    assert (response.status_code, response.json()) == (200, {"message": "Category deleted"})
    assert Channel.objects.get(id=channel.json()["id"]).category_id is None
    again = api.as_("alice").delete(f"{P}/servers/{sid}/categories/{a['id']}")
    assert (again.status_code, again.json()["error"]) == (404, "Category not found")
    other = create_server(api, "carol")
    foreign = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "F"}).json()
    assert (
        api.as_("alice").delete(f"{P}/servers/{sid}/categories/{foreign['id']}").status_code == 404
    )
    assert ChannelCategory.objects.filter(id=foreign["id"]).exists()
