"""The Content-Security-Policy names the LiveKit server browsers are sent to when it lives on
another origin (its signalling WebSocket, and the HTTP check the LiveKit SDK makes after a failed
connection); without voice, or with LiveKit behind the same origin, the policy is unchanged."""

from __future__ import annotations

from django.test import Client

from haven_site.middleware import CONTENT_SECURITY_POLICY
from tests.helpers import haven_settings

VOICE = {"livekit_url": "ws://livekit:7880", "livekit_api_key": "k", "livekit_api_secret": "s" * 32}


def csp(client: Client) -> str:
    return str(client.get("/health")["Content-Security-Policy"])


def test_without_voice_the_policy_is_the_fixed_one(client: Client) -> None:
    assert csp(client) == CONTENT_SECURITY_POLICY


def test_livekit_on_another_origin_is_allowed_to_connect(client: Client) -> None:
    with haven_settings(**VOICE, livekit_client_url="ws://127.0.0.1:7880"):
        policy = csp(client)
    assert "connect-src 'self' wss: ws://127.0.0.1:7880 http://127.0.0.1:7880;" in policy
    with haven_settings(**VOICE, livekit_client_url="wss://voice.example.org/"):
        policy = csp(client)
    assert "connect-src 'self' wss: wss://voice.example.org https://voice.example.org;" in policy
    assert policy.replace(" wss://voice.example.org https://voice.example.org", "") == (
        CONTENT_SECURITY_POLICY
    )


def test_unusable_livekit_urls_change_nothing(client: Client) -> None:
    for url in ("", "livekit:7880", "ftp://x/", "wss://"):
        with haven_settings(**VOICE, livekit_client_url=url):
            assert csp(client) == CONTENT_SECURITY_POLICY


def test_scripts_may_compile_webassembly_and_nothing_else() -> None:
    # The client's libsodium is WebAssembly (docs/security.md): 'wasm-unsafe-eval' lets the page
    # compile it; no 'unsafe-eval' (eval, new Function) and no other script origin.
    script_src = next(
        part.strip() for part in CONTENT_SECURITY_POLICY.split(";") if "script-src" in part
    )
    assert script_src == "script-src 'self' 'wasm-unsafe-eval'"


def test_the_headers_are_stored_as_djangos_setter_stores_them(client: Client) -> None:
    """The middleware copies pre-validated entries into the header store
    (docs/performance.md): the same entries as setting each header through Django, over a
    response's own headers."""
    from django.http import HttpResponse

    from haven_site.middleware import SECURITY_HEADERS, SecurityHeadersMiddleware

    def view(request: object) -> HttpResponse:
        response = HttpResponse("x")
        response["X-Frame-Options"] = "SAMEORIGIN"  # replaced, as before
        response["X-Own"] = "kept"
        return response

    with haven_settings(**VOICE, livekit_client_url="wss://voice.example.org/"):
        ours = SecurityHeadersMiddleware(view)(client.get("/health").wsgi_request)
        expected = view(None)
        for name, value in SECURITY_HEADERS.items():
            expected[name] = value
        expected["Content-Security-Policy"] = ours["Content-Security-Policy"]
        assert "voice.example.org" in ours["Content-Security-Policy"]
    assert ours.headers._store == expected.headers._store
    assert list(ours.items()) == list(expected.items())
