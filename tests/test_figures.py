"""``tuopin figures``: every report figure in both languages, Chinese that renders, bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from conftest import SHANGLUO, SMALL_SCALE
from tuopin import load_scenario
from tuopin.cli import main
from tuopin.experiments import run_replicates, write_run
from tuopin.report.figures import load_results, report_figures
from tuopin.report.fonts import style
from tuopin.report.labels import LABELS

FIGURES = ["exits_vs_plan", "remaining_poor", "relapses_new_entrants", "villages_counties", "spending_cost",
           "exits_by_batch", "county_remaining"]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A small Shangluo run (1:50, 3 replicates) written as ``tuopin run`` writes it."""
    out = tmp_path_factory.mktemp("figures") / "shangluo"
    result = run_replicates(load_scenario(SHANGLUO, {"scale": SMALL_SCALE}), replicates=3)
    write_run(out, result, scenario_file=SHANGLUO)
    return out


@pytest.mark.parametrize("lang, formats", [("zh", ("png", "pdf", "svg")), ("en", ("png",))])
def test_every_figure_in_every_format_without_missing_glyphs(results, lang, formats, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph ... missing" warning fails the test
        assert main(["figures", str(results), "--lang", lang, "--format", ",".join(formats)]) == 0
    out = results / f"figures_{lang}"
    for name in FIGURES:
        for fmt in formats:
            assert (out / f"{name}.{fmt}").stat().st_size > 1000, (name, fmt)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["lang"] == lang and set(meta["files"]) == {f"{n}.{f}" for n in FIGURES for f in formats}
    assert not list(results.glob(".figures_*staging*"))
    assert f"figures_{lang}" in capsys.readouterr().out


def test_the_same_results_give_the_same_figure_files(results):
    """No date or other run-to-run stamp in the files: drawn twice, every file has the same hash."""
    hashes = []
    for _ in range(2):
        assert main(["figures", str(results), "--lang", "en", "--format", "pdf,png"]) == 0
        hashes.append(json.loads((results / "figures_en" / "run.json").read_text(encoding="utf-8"))["files"])
    assert hashes[0] == hashes[1]


def figure_texts(results: Path, lang: str) -> list[str]:
    """Every string drawn on the report figures of ``results`` in ``lang``."""
    data = load_results(results)
    with style(lang):
        figures = report_figures(data, lang)
        texts = []
        for fig in figures.values():
            texts += [t.get_text() for t in fig.findobj(plt.Text) if t.get_text()]
            plt.close(fig)
    return texts


def test_each_language_uses_its_own_labels(results):
    zh = " ".join(figure_texts(results, "zh"))
    en = " ".join(figure_texts(results, "en"))
    english_only = [e.split("{")[0].strip() for e, _ in LABELS.values() if len(e.split("{")[0].strip()) > 6]
    assert not [e for e in english_only if e in zh]
    assert "脱贫人数" in zh and "年份" in zh and "商洛" in zh and "商州区" in zh
    assert "Declared exits" in en and "Year" in en and "Shangzhou" in en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en.replace("返贫", "").replace("低保", ""))


def test_every_figure_names_its_source_and_is_200_dpi(results):
    from PIL import Image

    data = load_results(results)
    for lang, scale, replicates in (("en", "scale", "3 replicates"), ("zh", "抽样比例", "3次重复")):
        with style(lang):
            figures = report_figures(data, lang)
            for name, fig in figures.items():
                source = [t.get_text() for t in fig.findobj(plt.Text) if "seed 20160101" in t.get_text()
                          or "随机种子 20160101" in t.get_text()]
                assert len(source) == 1, (name, lang)
                assert f"{scale} {SMALL_SCALE:g}" in source[0] and replicates in source[0] and "tuopin" in source[0]
                assert "shangluo" in source[0], source[0]
                plt.close(fig)
    main(["figures", str(results), "--lang", "en", "--format", "png"])
    for name in FIGURES:
        with Image.open(results / "figures_en" / f"{name}.png") as im:
            assert round(im.info["dpi"][0]) == 200, name


def test_plan_lines_come_from_the_scenario(results):
    data = load_results(results)
    assert data.village_targets == {2016: 258, 2017: 289, 2018: 152}
    assert data.county_targets[2018] == ["商南县", "柞水县"]
    assert data.title["zh"].startswith("商洛市")


def test_not_a_results_dir_is_one_line_and_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["figures", str(empty), "--lang", "zh"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty" in err[0] and "run.json" in err[0]
    assert list(empty.iterdir()) == []
    assert main(["figures", str(tmp_path / "nowhere"), "--lang", "en"]) == 2
    assert "not a results directory" in capsys.readouterr().err


def test_broken_table_names_file_and_column(results, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("run.json", "summary.csv"):
        (broken / name).write_bytes((results / name).read_bytes())
    (broken / "annual.csv").write_text("replicate,year,exits\n0,2016,5\n", encoding="utf-8")
    assert main(["figures", str(broken), "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "annual.csv" in err[0] and "poor_end" in err[0]
    assert not (broken / "figures_en").exists()


def test_unknown_format_is_refused(results, capsys):
    assert main(["figures", str(results), "--lang", "en", "--format", "png,gif"]) == 2
    assert "gif" in capsys.readouterr().err
