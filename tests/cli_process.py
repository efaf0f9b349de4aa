"""The ``livingcircle`` command line run as a real process, for tests and benchmarks.

The benchmarks (bench/) import it too: the soak imports department lists with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def embedded_env(data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a command on the embedded store.

    Without ``LC_DATABASE_URL`` (so a PostGIS server in the caller's environment is not used),
    with ``LC_DATA_DIR`` set to ``data_dir`` when given, and with ``extra`` (``COLUMNS="200"``).
    """
    env = {**os.environ, **extra}
    if data_dir is not None:
        env["LC_DATA_DIR"] = str(data_dir)
    env.pop("LC_DATABASE_URL", None)
    return env


def run_livingcircle(
    env: Mapping[str, str], *args: str, timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m livingcircle ARGS`` with ``env``; its stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "livingcircle", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
