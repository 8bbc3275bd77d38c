"""The planner notebooks run top to bottom on this Python, and are stored without outputs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def this_python_kernel(tmp_path: Path) -> KernelManager:
    """A kernel that runs this interpreter (the project's .venv), whatever kernels are installed elsewhere."""
    spec_dir = tmp_path / "kernels" / "tuopin-venv"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tuopin (.venv)", "language": "python"}), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="tuopin-venv", kernel_spec_manager=specs)


def test_the_six_worksheets_are_there():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code, "a worksheet has code to run"
    assert all(not c.outputs and c.execution_count is None for c in code), "clear outputs before committing"
    assert book.cells[0].cell_type == "markdown" and "Question" in book.cells[0].source
    assert any(c.cell_type == "markdown" and c.source.startswith("## Answer") for c in book.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_and_answers(path, tmp_path):
    """Each notebook runs as a planner's copy would: copied alone into an empty folder, run there."""
    elsewhere = tmp_path / "my copy"
    elsewhere.mkdir()
    shutil.copy(path, elsewhere / path.name)
    book = nbformat.read(elsewhere / path.name, as_version=4)
    client = NotebookClient(book, km=this_python_kernel(tmp_path), timeout=600,
                            resources={"metadata": {"path": str(elsewhere)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for o in outputs), \
        "a worksheet shows a figure"
    answer = book.cells[-1].outputs
    printed = "".join(o.get("text", "") for o in answer if o.get("output_type") == "stream")
    assert printed.strip(), "the answer cell prints its answer"
    assert not any("missing from font" in o.get("text", "") for o in outputs)
    assert not any(name in printed for name in ("exits_median", "poor_end", "p_meet_target", "_cum")), printed
