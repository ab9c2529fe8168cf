"""The deployment tests' server: a real Daphne (``python -m haven_site.serve``, tests.processes) on
loopback with its own SQLite var dir, JSON logs and the metrics exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import ROOT, HavenProcess, embedded_env, free_port, manage

DEPLOY = ROOT / "deploy"


class Daphne(HavenProcess):
    @property
    def metrics_port(self) -> int:
        return int(self.env["METRICS_PORT"])


@pytest.fixture(scope="package")
def daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daphne]:
    """A real Daphne on loopback, JSON logs, client IPs logged, metrics exporter on."""
    var_dir = tmp_path_factory.mktemp("daphne-var")
    env = embedded_env(
        var_dir,
        LOG_FORMAT="json",
        LOG_CLIENT_IPS="true",
        METRICS_PORT=str(free_port()),
        METRICS_BIND="127.0.0.1",
    )
    manage("migrate", "--noinput", "-v", "0", env=env)
    # As the image does: static files collected (and compressed) before the server starts.
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    server = Daphne(var_dir, name="daphne", base=env)
    try:
        yield server.start()
    finally:
        server.stop()
