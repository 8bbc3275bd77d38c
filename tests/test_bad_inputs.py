"""The bad-input corpus: every case in tests/bad_inputs/ is answered cleanly.

Each case is a directory ``tests/bad_inputs/<case>/`` with its input files and a ``case.yaml``::

    args: [run, "{dir}/scenario.yaml", --out, "{out}"]   # the tuopin command line
    expect: "unknown key"                                 # part of the one line the user sees
    where: [scenario.yaml, economy.ilness_rate]           # also in that line: file, key or row
    setup: out_is_file                                    # optional, see OUT_SETUPS
    marker: MARKER                                        # optional: a file that must not appear

Placeholders, in ``args`` and in the case's text files (replaced when the case is copied):
``{dir}`` the case's copy in a fresh temporary directory; ``{out}`` a fresh output path;
``{scenarios}`` the repository's ``scenarios/`` directory.

For every case: exit code 2, exactly one line on stderr, starting ``tuopin: error:``, holding
``expect`` and every ``where``, at most ``MAX_LINE`` characters; no traceback; nothing on stdout; the output path absent (or, if
the case made it, unchanged) and nothing else written beside it or into the case directory.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from tuopin.cli import main

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())

MAX_LINE = 800
"""Longest error line: the file (a temporary path here), the key and the message, values cut."""

OUT_SETUPS = {
    None: "{out} is a path that does not exist",
    "out_is_file": "{out} is an existing regular file",
    "out_under_file": "{out} is a path below a regular file ({file}/sub), unwritable even for root",
    "out_links_to_user_dir": "{out} is a symlink to a folder holding a file of the user's",
}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for directories)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else
                                        f"-> {p.readlink()}" if p.is_symlink() else None) for p in sorted(root.rglob("*"))}


def copy_case(src: Path, dst: Path, subst: dict[str, str]) -> None:
    """Copy a case directory, replacing the placeholders in its text files."""
    shutil.copytree(src, dst)
    for path in dst.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\x00" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for key, value in subst.items():
            text = text.replace(key, value)
        path.write_bytes(text.encode("utf-8"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 30, CASES


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_answered_cleanly(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = yaml.safe_load((CORPUS / case / "case.yaml").read_text(encoding="utf-8"))
    setup = spec.get("setup")
    assert setup in OUT_SETUPS, f"unknown setup {setup!r}"
    work = tmp_path / "work"  # the current directory: default outputs would land here
    outdir = tmp_path / "outputs"
    work.mkdir()
    outdir.mkdir()
    case_dir = tmp_path / "case"
    out = outdir / "out"
    if setup == "out_is_file":
        out.write_text("a file the user keeps\n", encoding="utf-8")
    elif setup == "out_under_file":
        (outdir / "afile").write_text("a file the user keeps\n", encoding="utf-8")
        out = outdir / "afile" / "sub"
    elif setup == "out_links_to_user_dir":
        (outdir / "mine").mkdir()
        (outdir / "mine" / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
        out.symlink_to(outdir / "mine")
    subst = {"{dir}": str(case_dir), "{out}": str(out), "{scenarios}": str(ROOT / "scenarios")}
    copy_case(CORPUS / case, case_dir, subst)
    argv = [str(a) for a in spec["args"]]
    for key, value in subst.items():
        argv = [a.replace(key, value) for a in argv]
    before = {"case": snapshot(case_dir), "out": snapshot(outdir)}
    monkeypatch.chdir(work)

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing the command line
            code = exc.code

    err = stderr.getvalue()
    lines = err.splitlines()
    assert code == 2, f"exit code {code}; stderr:\n{err}"
    assert "Traceback" not in err
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    line = lines[0]
    assert line.startswith("tuopin: error:"), line
    assert len(line) <= MAX_LINE, f"{len(line)} characters: keys and values are not cut"
    assert spec["expect"] in line, line
    for where in spec.get("where", []):
        assert str(where).replace("{dir}", str(case_dir)) in line, f"{where!r} not named in: {line}"
    assert stdout.getvalue() == ""
    assert snapshot(outdir) == before["out"], "output written or changed"
    assert snapshot(case_dir) == before["case"], "input directory changed"
    assert not any(work.iterdir()), "something written in the current directory"
    if marker := spec.get("marker"):
        assert not (case_dir / marker).exists(), "the YAML tag was executed"
