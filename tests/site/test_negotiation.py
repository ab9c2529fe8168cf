"""The REST API answers JSON whatever the Accept header asks (haven_site.api.negotiation)."""

from __future__ import annotations

import pytest

from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*", "application/json"])
def test_any_accept_header_gets_json(api: Api, accept: str) -> None:
    user = api.register("alice")
    response = api.client.get(
        "/api/v1/servers", HTTP_AUTHORIZATION=f"Bearer {user.access_token}", HTTP_ACCEPT=accept
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []
