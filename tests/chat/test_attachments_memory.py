"""A 200 MB attachment through a real ``python -m haven_site.serve`` process, up and down, must
keep the server's memory flat: its peak resident set (VmHWM) may grow by far less than the file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import key_material
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
SIZE = 200 * MIB
BLOCK = os.urandom(MIB)
ALLOWED_GROWTH = 64 * MIB


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def body() -> Iterator[bytes]:
    for index in range(SIZE // MIB):
        yield index.to_bytes(4, "big") + BLOCK[4:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    process = HavenProcess(
        tmp_path_factory.mktemp("haven-memory"),
        {"DATABASE_URL": None, "REDIS_URL": None, "RATE_LIMITS_ENABLED": "false"},
    )
    process.manage("migrate", "--noinput")
    yield process.start()
    process.stop()


LINK = """
from chat.models import Attachment, Channel, ChannelMember
from chat.actions.message_store import insert_message
a = Attachment.objects.get(id="{attachment_id}")
dm = Channel.objects.create(channel_type="dm")
ChannelMember.objects.create(channel=dm, user_id=a.uploader_id)
a.message = insert_message(dm, sender_id=a.uploader_id, sender_token=b"t", encrypted_body=b"b")
a.save()
"""


def test_a_200_mb_file_keeps_memory_flat(server: HavenProcess) -> None:
    assert server.process is not None
    pid = server.process.pid
    with httpx.Client(base_url=server.url, timeout=300) as client:
        registered = client.post(
            "/api/v1/auth/register",
            json={"username": "bulk", "password": "correct horse battery", **key_material("b")},
        )
        assert registered.status_code == 200, registered.text
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        client.get("/health")

        before_upload = peak_rss(pid)
        uploaded = client.post(
            "/api/v1/attachments/upload",
            content=body(),
            headers={**headers, "Content-Length": str(SIZE)},
        )
        assert uploaded.status_code == 200, uploaded.text
        upload_growth = peak_rss(pid) - before_upload
        assert upload_growth < ALLOWED_GROWTH, f"upload grew the peak RSS by {upload_growth}"

        attachment_id = uploaded.json()["attachment_id"]
        server.manage("shell", "-c", LINK.format(attachment_id=attachment_id))

        before_download = peak_rss(pid)
        expected = hashlib.sha256()
        for chunk in body():
            expected.update(chunk)
        received = hashlib.sha256()
        size = 0
        with client.stream("GET", f"/api/v1/attachments/{attachment_id}", headers=headers) as r:
            assert r.status_code == 200
            assert r.headers["content-length"] == str(SIZE)
            for chunk in r.iter_raw(MIB):
                received.update(chunk)
                size += len(chunk)
        download_growth = peak_rss(pid) - before_download
        assert size == SIZE
        assert received.hexdigest() == expected.hexdigest()
        assert download_growth < ALLOWED_GROWTH, f"download grew the peak RSS by {download_growth}"
