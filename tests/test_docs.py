"""The API reference builds without a warning, and every example in it runs.

The examples are the doctests of ``livingcircle/public.py`` and of the modules defining the
other names of ``livingcircle.__all__`` (``region.py``, ``answers.py``), run here against a
store holding the Helsinki sample: the same ``LC_DATA_DIR`` a user has after
``livingcircle demo``. Until that module exists they skip.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import livingcircle
from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.sample import sample_file
from livingcircle.geo.standards import load_standard

REPO = Path(__file__).resolve().parents[1]
PUBLIC = REPO / "livingcircle" / "public.py"
#: public names whose examples need the network, so they have none to run here
NEEDS_NETWORK = {"fetch"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _public() -> ModuleType | None:
    return importlib.import_module("livingcircle.public") if PUBLIC.is_file() else None


def _examples() -> list[doctest.DocTest]:
    """The examples of ``livingcircle.public`` and of each module defining a public name."""
    if _public() is None:
        return []
    names = {getattr(livingcircle, n).__module__ for n in livingcircle.__all__ if n[0] != "_"}
    finder = doctest.DocTestFinder()
    tests = [
        t
        for name in sorted({"livingcircle.public", *names})
        for t in finder.find(importlib.import_module(name), name)
    ]
    return sorted((t for t in tests if t.examples), key=lambda t: t.name)


def _public_callables() -> Iterator[tuple[str, object]]:
    """Every public function named in ``livingcircle.__all__``, and its classes' methods."""
    for name in livingcircle.__all__:
        obj = getattr(livingcircle, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    yield f"{name}.{attr}", member


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder holding the loaded sample region ``helsinki``."""
    root = tmp_path_factory.mktemp("lc-data")
    load_osm(FileStore(root), sample_file(), "helsinki", load_standard())
    return root


@pytest.fixture
def in_sample_store(sample_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``LC_DATA_DIR`` is the sample store, as for a user after ``livingcircle demo``."""
    for name in ("LC_DATABASE_URL", "LC_STANDARDS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LC_DATA_DIR", str(sample_store))


@pytest.mark.skipif(not PUBLIC.is_file(), reason="livingcircle/public.py is not written yet")
@pytest.mark.parametrize("example", _examples(), ids=lambda t: t.name)
@pytest.mark.usefixtures("in_sample_store")
def test_public_examples_run(
    example: doctest.DocTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    example.globs.update({"lc": livingcircle})
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(example, out=out.write, clear_globs=True)
    assert result.failed == 0, out.getvalue()


@pytest.mark.skipif(not PUBLIC.is_file(), reason="livingcircle/public.py is not written yet")
def test_every_public_function_has_an_example() -> None:
    missing = [
        name
        for name, obj in _public_callables()
        if name not in NEEDS_NETWORK and ">>>" not in (inspect.getdoc(obj) or "")
    ]
    assert missing == [], f"public functions without an example: {missing}"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "html"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-E",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(REPO / "docs"),
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-5000:]
    api = (out / "api.html").read_text(encoding="utf-8")
    undocumented = [
        name
        for name in livingcircle.__all__
        if not name.startswith("__") and f'id="livingcircle.{name}"' not in api
    ]
    assert undocumented == [], "names in livingcircle.__all__ missing from the API reference"
    assert "livingcircle nearest" in (out / "cli.html").read_text(encoding="utf-8")
