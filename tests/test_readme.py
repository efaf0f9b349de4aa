"""Every shell line of README.md, run as written in a throwaway folder and store.

A README command that is wrong fails here. Lines that need the internet or a server run
against loopback instead: ``fetch`` against the test Overpass/Nominatim server (serving the
Helsinki sample under the place's name), ``curl`` against a ``livingcircle serve`` started in
the background on a free port, PostGIS lines against a throwaway database when a test server
is reachable. What is not run at all is listed in :data:`SKIPPED`, each with its reason.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from sqlalchemy.engine import make_url

from livingcircle.geo.standards import Standard
from tests.contract.conftest import DEFAULT_SERVER_URL, PostgisServer
from tests.data.overpass_server import OsmData, OverpassServer

README = Path(__file__).resolve().parents[1] / "README.md"
#: Line prefixes not run, and why.
SKIPPED = {
    "make ": "make installs system packages and PostGIS as root; 'livingcircle demo', which "
    "'make demo' runs, is a README line of its own",
    ". .venv/bin/activate": "the test puts the venv's bin folder on PATH itself",
}
POSTGIS_URL = re.compile(r"postgresql\+psycopg://\S+")
README_PORT = re.compile(r"127\.0\.0\.1:8000\b")

pytestmark = pytest.mark.slow


def sh_lines(text: str) -> list[str]:
    """The command lines of every ```sh block, continuation lines joined."""
    lines: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgis() -> PostgisServer | None:
    """The test PostGIS server, or None when none answers."""
    url = make_url(os.environ.get("LC_TEST_DATABASE_URL", DEFAULT_SERVER_URL))
    server = PostgisServer(url.set(drivername="postgresql+psycopg"))
    try:
        with psycopg.connect(server.conninfo, autocommit=True, connect_timeout=5):
            return server
    except psycopg.Error:
        return None


@dataclass
class Shell:
    """Runs README lines in ``folder`` with the venv on PATH and a throwaway store."""

    folder: Path
    overpass: OverpassServer
    postgis: PostgisServer | None
    port: int = field(default_factory=_free_port)
    database: str | None = None
    server: subprocess.Popen[bytes] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def env(self, data_dir: str = "store") -> dict[str, str]:
        env = {
            **os.environ,
            "LC_DATA_DIR": str(self.folder / data_dir),
            "COLUMNS": "80",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        for name in ("LC_DATABASE_URL", "LC_STANDARDS_FILE", "LC_KIOSKS_FILE"):
            env.pop(name, None)
        return env

    def run(self, line: str) -> None:
        reason = next((why for prefix, why in SKIPPED.items() if line.startswith(prefix)), None)
        if reason is not None:
            self.skipped.append((line, reason))
        elif line.startswith("livingcircle serve"):
            self.serve(line)
        elif line.startswith("livingcircle fetch"):
            self.fetch(line)
        elif POSTGIS_URL.search(line):
            self.with_postgis(line)
        elif line.startswith("curl "):
            self.shell(
                README_PORT.sub(f"127.0.0.1:{self.port}", line).replace(
                    "curl ", "curl --fail --silent --show-error ", 1
                )
            )
        else:
            self.shell(line)

    def shell(self, line: str, env: dict[str, str] | None = None) -> None:
        start = time.perf_counter()
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line],
            cwd=self.folder,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"README line failed: {line}\n{done.stdout}\n{done.stderr}"
        print(f"{time.perf_counter() - start:5.1f} s  {line}")  # shown with pytest -s

    def fetch(self, line: str) -> None:
        """Against the loopback server, into a store of its own.

        The server answers with the Helsinki sample for the README's place: in the same
        store it would overlap the sample region, which the later lines ask without --region.
        """
        place = shlex.split(line)[2]
        xy = np.array([v[:2] for v in self.overpass.data.nodes.values()])
        self.overpass.places[place] = shapely.box(
            *(xy.min(axis=0) - 0.001), *(xy.max(axis=0) + 0.001)
        )
        env = self.env("fetched") | {
            "LC_OVERPASS_URL": self.overpass.url,
            "LC_NOMINATIM_URL": self.overpass.nominatim_url,
            "LC_OVERPASS_RATE_LIMIT": "false",
        }
        self.shell(line, env)

    def with_postgis(self, line: str) -> None:
        if self.postgis is None:
            self.skipped.append((line, "no PostGIS test server (LC_TEST_DATABASE_URL)"))
            return
        if self.database is None:  # db upgrade, the first PostGIS line, makes its tables
            self.database = self.postgis.create(upgraded=False)
        self.shell(POSTGIS_URL.sub(shlex.quote(self.database), line))

    def serve(self, line: str) -> None:
        self.stop_server()  # a later serve line replaces the earlier server
        command = re.sub(r"--port \d+", f"--port {self.port}", line)
        with (self.folder / "serve.log").open("wb") as log:
            self.server = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.folder,
                env=self.env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.server.poll() is None, (
                f"README line failed: {line}\n{(self.folder / 'serve.log').read_text()}"
            )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/regions", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"the server of '{line}' did not answer within 90 s")

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)  # the server and its workers
            self.server.wait(timeout=30)

    def stop(self) -> None:
        self.stop_server()
        if self.postgis is not None:
            self.postgis.drop_all()


@pytest.fixture
def shell(tmp_path: Path, sample_path: Path, standard: Standard) -> Iterator[Shell]:
    with OverpassServer(OsmData.read(sample_path), standard) as overpass:
        running = Shell(tmp_path, overpass, _postgis())
        try:
            yield running
        finally:
            running.stop()


def test_readme_lines_are_found() -> None:
    lines = sh_lines(README.read_text(encoding="utf-8"))
    assert any(line.startswith("livingcircle sample homes") for line in lines)
    assert all(not line.endswith("\\") for line in lines)  # continuations joined


def readme_files(text: str) -> dict[str, str]:
    """The files the README shows in full: ```toml blocks whose first line is ``# NAME``."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^```toml\n# ([\w.-]+\.toml)\n(.*?)^```", text, flags=re.M | re.S)
    }


def test_every_readme_command_runs(shell: Shell) -> None:
    text = README.read_text(encoding="utf-8")
    for name, body in readme_files(text).items():  # "save this as NAME", as a reader would
        (shell.folder / name).write_text(body, encoding="utf-8")
    lines = sh_lines(text)
    for line in lines:
        shell.run(line)
    ran = len(lines) - len(shell.skipped)
    assert ran >= 20, f"only {ran} README lines ran; skipped: {shell.skipped}"
    assert {why for _, why in shell.skipped} <= {
        *SKIPPED.values(),
        "no PostGIS test server (LC_TEST_DATABASE_URL)",
    }
    for name in (
        "homes.csv",
        "communities.gpkg",
        "gaps.gpkg",
        "gaps.report.html",
        "map.html",
        "kiosk.html",
        "rejected.csv",
        "catchment.geojson",
        "what-if.toml",
        "diff.gpkg",
        "poster.pdf",
    ):
        assert (shell.folder / name).stat().st_size > 0, name


def test_python_blocks_run(tmp_path: Path) -> None:
    """Every ```python block of the README, run in order against a store with the sample."""
    import livingcircle as lc  # noqa: PLC0415
    from livingcircle.data.sample import sample_file  # noqa: PLC0415

    store = tmp_path / "store"
    lc.load(sample_file(), "helsinki", data_dir=store, progress=False)
    code = "\n".join(
        re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.M | re.S)
    )
    assert "lc.open" in code
    env = {**os.environ, "LC_DATA_DIR": str(store)}
    env.pop("LC_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
