"""A client that goes away in the middle of a response (a browser tab closed during a download)
is a normal event for a real ``python -m haven_site.serve`` process: nothing may be logged as an
error. Daphne used to log ``'NoneType' object has no attribute 'unregisterProducer'`` with a
traceback: the last body message of a response whose client was gone tried to unregister the
socket's flow-control producer from a channel Twisted had already dropped."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

MESSAGES = 60  # about 5 MB of JSON: far more than the socket buffers hold
BODY = base64.b64encode(os.urandom(65_000)).decode()
ATTACHMENT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    process = HavenProcess(
        tmp_path_factory.mktemp("haven-disconnect"),
        {"DATABASE_URL": None, "REDIS_URL": None, "RATE_LIMITS_ENABLED": "false"},
    )
    process.manage("migrate", "--noinput", "-v", "0")
    yield process.start()
    process.stop()


def abort_mid_response(server: HavenProcess, path: str, token: str) -> None:
    """Ask for ``path``, read the first bytes, let the server fill the socket and wait, then
    reset the connection (a closed tab)."""
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", server.port))
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        client.sendall(request.encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 200 OK")
        time.sleep(0.3)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def assert_quiet_log(server: HavenProcess, start: int) -> None:
    """Nothing but access-log lines since ``start``, once the process has had time to finish
    the aborted responses (an error, if any, is logged within milliseconds of the reset)."""
    httpx.get(f"{server.url}/health", timeout=5)
    time.sleep(1)
    log = server.log_text()[start:]
    for bad in ("Traceback", "ERROR", "unregisterProducer", "Exception inside application"):
        assert bad not in log, log


def test_a_client_gone_mid_response_logs_no_error(server: HavenProcess) -> None:
    user = server.register("reader")
    token = user["token"]
    meta = base64.b64encode(b"meta").decode()
    channel = server.rest("POST", "/servers", token, {"encrypted_meta": meta})["system_channel_id"]
    for _ in range(MESSAGES):
        server.rest(
            "POST",
            f"/channels/{channel}/messages",
            token,
            {"channel_id": channel, "sender_token": "dA==", "encrypted_body": BODY,
             "has_attachments": False},
        )  # fmt: skip
    path = f"/api/v1/channels/{channel}/messages?limit=100"
    start = len(server.log_text())
    for _ in range(3):
        abort_mid_response(server, path, token)
    assert_quiet_log(server, start)
    # The same response, read to its end, still ends properly (the producer is unregistered).
    history = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert history.status_code == 200
    assert len(history.json()) == MESSAGES


LINK = """
from chat.models import Attachment, Channel, ChannelMember
from chat.actions.message_store import insert_message
a = Attachment.objects.get(id="{attachment_id}")
dm = Channel.objects.create(channel_type="dm")
ChannelMember.objects.create(channel=dm, user_id=a.uploader_id)
a.message = insert_message(dm, sender_id=a.uploader_id, sender_token=b"t", encrypted_body=b"b")
a.save()
"""


def test_a_download_cut_short_logs_no_error(server: HavenProcess) -> None:
    """The streamed kind of response (an attachment, decrypted as it is read)."""
    token = server.register("downloader")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    uploaded = httpx.post(
        f"{server.url}/api/v1/attachments/upload",
        content=os.urandom(ATTACHMENT),
        headers=headers,
        timeout=60,
    )
    assert uploaded.status_code == 200, uploaded.text
    attachment_id = uploaded.json()["attachment_id"]
    server.manage("shell", "-c", LINK.format(attachment_id=attachment_id))
    start = len(server.log_text())
    for _ in range(3):
        abort_mid_response(server, f"/api/v1/attachments/{attachment_id}", token)
    assert_quiet_log(server, start)
