"""The notebooks run from top to bottom (so they never rot), on the public API only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import livingcircle as lc
from livingcircle.data.sample import sample_file

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _code(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_uses_only_public_names(path: Path) -> None:
    tree = ast.parse(_code(path))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(
        isinstance(n, ast.Import) and [a.name for a in n.names] == ["livingcircle"] for n in imports
    ), "import only livingcircle (as lc)"
    used = set(re.findall(r"\blc\.(\w+)", _code(path)))
    assert used <= set(lc.__all__), used - set(lc.__all__)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"  # the user's store, with the sample as `livingcircle demo` loads it
    lc.load(sample_file(), "helsinki", data_dir=store, progress=False)
    monkeypatch.setenv("LC_DATA_DIR", str(store))
    monkeypatch.delenv("LC_DATABASE_URL", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum("leaflet" in h.lower() for h in html) >= 2  # the maps render inline
    assert any("image/png" in o.get("data", {}) for o in outputs)  # and the chart
