"""Reading a register file as a county's system exports it: the table, its columns, its rows.

What ``tuopin run --households FILE`` accepts (the format is in ``scenarios/data/README.md``):

* **Files:** .xlsx / .xlsm / .xls / .ods (the first sheet with a header row; read by
  python-calamine) or CSV text in UTF-8 (with or without a byte-order mark) or GBK / GB18030.
* **Header row:** the first row, or the row below title rows ("某县建档立卡贫困人口信息表",
  "导出时间 ...") that names the most known columns, within the first :data:`HEADER_SEARCH_ROWS`.
* **Columns:** the official Chinese names of the national poverty information system (县, 乡镇,
  行政村, 户编号, 人编号, 与户主关系, ...) and tuopin's English names are known without a
  mapping (:data:`COLUMNS`); anything else is named in a small YAML mapping file
  (:func:`load_mapping`): their column -> ours, their labels -> ours.
* **Layout:** one row per person (the system's export: household fields repeated on every
  member's row) or one row per household (tuopin's own CSV). Person rows are aggregated to
  households here, with pandas group-bys, never a Python loop per row (:func:`aggregate_persons`).

Every error is one line naming the file, the row (as numbered in the spreadsheet) and the
column as the file names it. The result is a household table of text columns under tuopin's
English names, with the spreadsheet row of each household in ``_row``; ``register.py`` turns it
into the model's households.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuopin.errors import UserError
from tuopin.scenario import read_yaml

MAX_REGISTER_BYTES = 300_000_000
HEADER_SEARCH_ROWS = 30
"""Title rows above the header: the header is looked for in this many first rows."""
CHUNK_ROWS = 65_536
"""Spreadsheet rows converted to text at a time (keeps the memory of a large sheet flat)."""

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
EXCEL_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")

COLUMNS: dict[str, tuple[str, ...]] = {
    # household fields (on every person row of a household, or once in a household row)
    "household_id": ("户编号", "户码", "户主编号"),
    "county": ("县", "县(市、区)", "县(区)", "县区", "区县", "县(市、区、旗)"),
    "township": ("乡镇", "乡(镇)", "乡(镇、街道)", "乡镇(街道)", "乡"),
    "village": ("行政村", "村"),
    "size": ("家庭人口数", "家庭人口", "人口数", "户人数"),
    "labour": ("劳动力人数", "劳动力"),
    "students": ("在校生人数",),
    "per_capita_income": ("人均纯收入", "家庭人均纯收入", "人均可支配收入"),
    "causes": ("主要致贫原因", "致贫原因"),
    "causes_other": ("其他致贫原因", "次要致贫原因"),
    "safe_house": ("住房安全", "住房安全有保障"),
    "unsafe_house": ("危房户",),
    "safe_water": ("饮水安全",),
    "insured": ("参加医疗保险",),
    "harsh_location": ("易地扶贫搬迁户", "易地搬迁户"),
    "eco_zone": ("生态保护区",),
    "household_type": ("贫困户属性",),
    "status": ("脱贫属性", "贫困户状态"),
    "exit_year": ("脱贫年度", "脱贫年份", "脱贫时间"),
    # person fields (one row per member)
    "person_id": ("人编号", "成员编号", "人员编号"),
    "relationship": ("与户主关系",),
    "in_school": ("在校生状况", "在校生情况"),
    "health": ("健康状况",),
    "labour_skill": ("劳动技能", "劳动能力"),
    "work": ("务工状况", "务工情况"),
    "basic_insurance": ("参加城乡居民基本医疗保险", "参加新型农村合作医疗", "参加新农合"),
    "serious_illness_insurance": ("参加大病医疗", "参加大病保险", "参加大病医疗保险"),
}
"""tuopin's column (its English name) -> the official Chinese names known for it.

Names are compared after NFKC normalisation (full-width brackets become ASCII), without spaces,
without a leading 是否 and without a unit in brackets at the end (人均纯收入(元))."""

HOUSEHOLD_FIELDS = ("county", "township", "village", "size", "per_capita_income", "causes", "causes_other",
                    "safe_house", "unsafe_house", "safe_water", "harsh_location", "eco_zone", "household_type",
                    "status", "exit_year")
"""Columns that describe the household: the same on every member's row (or empty)."""

REQUIRED_COMMON = ("household_id", "county", "village", "per_capita_income", "causes")
REQUIRED_HOUSEHOLD_ROWS = ("size", "labour", "students", "insured")
REQUIRED_PERSON_ROWS = ("relationship", "labour_skill", "in_school")

YES = frozenset({"1", "true", "yes", "y", "是", "有", "√", "1.0"})
NO = frozenset({"0", "false", "no", "n", "否", "无", "0.0"})

HEAD = frozenset({"户主", "head", "本人"})
ABLE = {"普通劳动力": True, "技能劳动力": True, "弱劳动力或半劳动力": False, "弱劳动力": False, "半劳动力": False,
        "丧失劳动力": False, "无劳动力": False,
        "ordinary": True, "skilled": True, "weak": False, "lost": False, "none": False}
"""劳动技能 -> able-bodied: ordinary and skilled labour count; weak or half labour does not."""
HEALTH = {"健康": False, "长期慢性病": False, "患有大病": True, "大病": True, "残疾": False, "残疾人": False,
          "healthy": False, "chronic": False, "serious": True, "disabled": False}
"""健康状况 -> too ill to work this year (a serious illness, 患有大病)."""
NOT_IN_SCHOOL = frozenset({"", "非在校生", "不在校", "否", "无", "no", "0", "辍学", "毕业", "学龄前"})
IN_SCHOOL = re.compile(r"学前|幼儿|小学|初中|高中|中职|高职|中专|技校|职高|大专|专科|本科|大学|研究生|硕士|博士|年级|在校|^是$|^yes$|^1$")
NOT_WORKING = frozenset({"", "否", "无", "未务工", "非务工", "不务工", "在家务农", "务农", "no", "0"})
WORKING = re.compile(r"务工|就业|^是$|^yes$|^1$")


def normalise_name(name: Any) -> str:
    """A header cell as compared: NFKC, no spaces, no leading 是否, no unit in brackets at the end."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"\((元|元/人|人|年|是/否|是否)\)$", "", text)
    return text.removeprefix("是否") if len(text) > 3 else text


KNOWN_NAMES: dict[str, str] = {}
for _key, _names in COLUMNS.items():
    KNOWN_NAMES[_key.lower()] = _key
    for _name in _names:
        KNOWN_NAMES[normalise_name(_name)] = _key


@dataclass
class Mapping:
    """A county's own names: their column -> ours, and per column their label -> ours."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = ""


def load_mapping(path: str | Path | None) -> Mapping:
    """Read a mapping file (safe YAML)::

        columns:               # their column: ours (an English name or an official Chinese one)
          户主编号: 户编号
          家庭年人均纯收入: per_capita_income
        values:                # per column (theirs or ours): their label: ours
          主要致贫原因: {因婚: 其他}
          脱贫属性: {脱贫户: 已脱贫}

    Raises:
        UserError: naming the file and the key.
    """
    if path is None:
        return Mapping()
    src = str(path)
    raw = read_yaml(path)
    if unknown := sorted(set(raw) - {"columns", "values"}):
        raise UserError("unknown key; a mapping has columns and values", source=src, key=str(unknown[0]))
    columns: dict[str, str] = {}
    for theirs, ours in (raw.get("columns") or {}).items():
        key = KNOWN_NAMES.get(normalise_name(ours)) or KNOWN_NAMES.get(str(ours).lower())
        if key is None:
            raise UserError(f"{ours!r} is not a register column; expected one of {', '.join(COLUMNS)} "
                            "(or their Chinese names)", source=src, key=f"columns.{theirs}")
        columns[normalise_name(theirs)] = key
    values: dict[str, dict[str, str]] = {}
    for column, labels in (raw.get("values") or {}).items():
        key = columns.get(normalise_name(column)) or KNOWN_NAMES.get(normalise_name(column))
        if key is None:
            raise UserError("not a register column (theirs mapped under columns, or ours)", source=src,
                            key=f"values.{column}")
        if not isinstance(labels, dict):
            raise UserError("expected a mapping of their label: ours", source=src, key=f"values.{column}")
        values[key] = {_text(k): _text(v) for k, v in labels.items()}
    return Mapping(columns, values, src)


def _text(value: Any) -> str:
    """A cell as text: whole numbers without '.0', empty for a missing cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


# ------------------------------------------------------------------ the table


@dataclass
class Table:
    """The cells below the header as text, their spreadsheet rows, and the header's names."""

    cells: pd.DataFrame
    rows: np.ndarray
    header_row: int


def _find_header(rows: list[list[str]], mapping: Mapping, path: Path) -> int:
    """Index of the header among the first rows: the one naming the most known columns (at least 3)."""
    best, best_count = -1, 2
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [normalise_name(c) for c in row]
        count = sum(1 for n in names if n in KNOWN_NAMES or n in mapping.columns)
        if count > best_count:
            best, best_count = i, count
    if best < 0:
        raise UserError(f"no header row in the first {HEADER_SEARCH_ROWS} rows: no row names at least 3 register "
                        "columns (户编号, 县, 行政村, 人均纯收入, ... or household_id, county, village, ...); name "
                        "yours in a mapping file (--register-map)", source=str(path))
    return best


def _decode(path: Path, data: bytes) -> str:
    """CSV bytes as text: UTF-8 (a BOM allowed), else GB18030 (which reads GBK and GB2312)."""
    if b"\x00" in data[:65536]:
        raise UserError("binary file; expected a spreadsheet (.xlsx, .xls) or CSV text", source=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 or GBK/GB18030 text (byte {exc.start}); save the register as CSV UTF-8 "
                        "or as .xlsx", source=str(path)) from None


def _csv_table(path: Path, mapping: Mapping) -> Table:
    """A CSV register: header found below any title rows, every cell as text."""
    text = _decode(path, path.read_bytes())
    if not text.strip():
        raise UserError("not a readable CSV table: the file is empty", source=str(path))
    head_rows = []
    reader = csv.reader(io.StringIO(text))
    try:
        for _, row in zip(range(HEADER_SEARCH_ROWS), reader):
            head_rows.append(row)
    except csv.Error as exc:
        raise UserError(f"not a readable CSV table: {exc}", source=str(path)) from None
    h = _find_header(head_rows, mapping, path)
    lines = text.splitlines(keepends=True)
    try:
        cells = pd.read_csv(io.StringIO("".join(lines[h:])), dtype=str, keep_default_na=False, header=0,
                            skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"not a readable CSV table: {str(exc).splitlines()[0]}", source=str(path)) from None
    cells = pd.DataFrame({c: _text_column([pd.factorize(cells[c].to_numpy(dtype=object))])
                          for c in cells.columns if _known(c, mapping)})
    return Table(cells, np.arange(len(cells)) + h + 2, h + 1)


def _excel_table(path: Path, mapping: Mapping) -> Table:
    """A spreadsheet register: the first sheet with a header row, every cell as text."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, ValueError, OSError) as exc:
        raise UserError(f"not a readable spreadsheet: {str(exc).splitlines()[0]}", source=str(path)) from None
    last_error: UserError | None = None
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        first_row = sheet.start[0] if sheet.start else 0
        rows = sheet.iter_rows()
        head = [[_text(c) for c in row] for _, row in zip(range(HEADER_SEARCH_ROWS), rows)]
        try:
            h = _find_header(head, mapping, path)
        except UserError as exc:
            last_error = exc
            continue
        header = head[h]
        wanted = [j for j, name in enumerate(header) if _known(name, mapping)]
        columns: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in wanted]
        chunk: list[list[Any]] = [r + [""] * (len(header) - len(r)) for r in head[h + 1:]]

        def flush() -> None:
            # the known columns only, each chunk as codes and distinct raw cells (text, numbers,
            # dates): the raw cells of one chunk at a time are all that is held
            width = max(len(header), max(len(r) for r in chunk))
            cells = np.empty((len(chunk), width), dtype=object)  # a sheet's rows are all one width
            cells[:, :] = [r + [""] * (width - len(r)) if len(r) < width else r for r in chunk]
            for slot, j in enumerate(wanted):
                columns[slot].append(pd.factorize(cells[:, j].copy()))
            chunk.clear()

        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK_ROWS:
                flush()
        if chunk:
            flush()
        names = _unique_names(header)
        cells = pd.DataFrame({names[j]: _text_column(columns[slot]) for slot, j in enumerate(wanted)})
        return Table(cells, np.arange(len(cells)) + first_row + h + 2, first_row + h + 1)
    raise last_error or UserError("the workbook has no sheets", source=str(path))


def _known(name: str, mapping: Mapping) -> bool:
    """A header cell naming a register column (known, or mapped)."""
    norm = normalise_name(name)
    return norm in mapping.columns or norm in KNOWN_NAMES or norm.lower() in KNOWN_NAMES


def _text_column(parts: list[tuple[np.ndarray, np.ndarray]]) -> pd.Series:
    """Chunks of (codes, distinct raw cells) as one categorical text column: every distinct cell
    made text once (whole numbers without '.0', stripped), then taken for every row by its code."""
    texts: list[str] = []
    codes = []
    for part_codes, uniques in parts:
        codes.append(np.where(part_codes >= 0, part_codes + len(texts), -1))
        texts += [u.strip() if u.__class__ is str else _text(u).strip() for u in uniques]
    texts.append("")  # a missing cell
    all_codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
    all_codes[all_codes < 0] = len(texts) - 1
    merged, categories = pd.factorize(np.asarray(texts, dtype=object))
    return pd.Series(pd.Categorical.from_codes(merged[all_codes], categories=pd.Index(categories, dtype=object)))


def _relabel(values: pd.Series, labels: dict[str, str] | None) -> pd.Series:
    """A categorical text column with the mapping file's labels put in (once per distinct value)."""
    if not labels:
        return values
    codes, text = category_table(values)
    merged, categories = pd.factorize(np.asarray([labels.get(t, t) for t in text], dtype=object))
    return pd.Series(pd.Categorical.from_codes(merged[codes], categories=pd.Index(categories, dtype=object)))


def per_label(values: pd.Series, func: Any, dtype: Any = object) -> np.ndarray:
    """``func`` of each row's text, computed once per distinct value (columns are categorical)."""
    cat = values.astype("category").cat
    out = np.empty(len(cat.categories), dtype=dtype)
    out[:] = [func(str(c)) for c in cat.categories]
    return out[cat.codes.to_numpy()]


def category_table(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A categorical column's codes and its categories as an object array."""
    cat = values.astype("category").cat
    return cat.codes.to_numpy(), np.asarray(cat.categories, dtype=object)


def _unique_names(header: list[str]) -> list[str]:
    """Header names made unique (a blank or repeated header cell gets its column number)."""
    seen: set[str] = set()
    out = []
    for j, name in enumerate(header):
        name = name.strip() or f"(column {j + 1})"
        if name in seen:
            name = f"{name} (column {j + 1})"
        seen.add(name)
        out.append(name)
    return out


def read_table(path: str | Path, mapping: Mapping | None = None) -> Table:
    """The register's cells below its header, as text; errors name the file."""
    path = Path(path)
    mapping = mapping or Mapping()
    if not path.is_file():
        raise UserError("register file not found", source=str(path))
    if path.stat().st_size > MAX_REGISTER_BYTES:
        raise UserError(f"register is larger than {MAX_REGISTER_BYTES:,} bytes", source=str(path))
    with path.open("rb") as f:
        magic = f.read(4)
    if path.suffix.lower() in EXCEL_SUFFIXES or magic in EXCEL_MAGIC:
        return _excel_table(path, mapping)
    return _csv_table(path, mapping)


# ------------------------------------------------------------------ columns and labels


@dataclass
class Register:
    """A register read and aggregated: one row per household, tuopin's column names, text cells.

    ``households._row`` is each household's first spreadsheet row; ``names`` maps tuopin's
    column to the name in the file (for error messages); ``layout`` is ``persons`` or
    ``households``; ``people_rows`` the number of person rows read (0 for a household layout).
    """

    households: pd.DataFrame
    names: dict[str, str]
    layout: str
    people_rows: int
    path: Path


def _code_of(text: np.ndarray, value: str) -> int:
    """The code of ``value`` among a column's categories (-2 when absent)."""
    where = np.flatnonzero(text == value)
    return int(where[0]) if len(where) else -2


def fail(path: Path, row: int, column: str, message: str) -> UserError:
    """The one-line error for a bad cell: file, spreadsheet row, column, what was expected."""
    return UserError(message, source=str(path), key=f"row {row}, column {column}")


def first_bad(path: Path, df: pd.DataFrame, bad: pd.Series | np.ndarray, column: str, names: dict[str, str],
              message: str) -> None:
    """Raise for the first row where ``bad`` holds, naming its spreadsheet row and the file's column."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = df[column].iloc[i]
        raise fail(path, int(df["_row"].iloc[i]), names.get(column, column), f"{message} (got {value!r})")


def first_duplicate(path: Path, df: pd.DataFrame, column: str, names: dict[str, str], what: str) -> None:
    """Raise for the first row whose ``column`` repeats an earlier row's, naming both rows."""
    ids = df[column]
    dup = ids.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(df["_row"].iloc[int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])])
        raise fail(path, int(df["_row"].iloc[i]), names.get(column, column),
                   f"duplicate {what} {ids.iloc[i]!r} (first in row {first})")


def _rename(table: Table, mapping: Mapping, path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Keep the known columns under tuopin's names; two file columns for one of ours is an error."""
    names: dict[str, str] = {}
    keep: dict[str, pd.Series] = {}
    for column in table.cells.columns:
        norm = normalise_name(column)
        key = mapping.columns.get(norm) or KNOWN_NAMES.get(norm) or KNOWN_NAMES.get(norm.lower())
        if key is None:
            continue
        if key in keep:
            raise UserError(f"columns {names[key]!r} and {column!r} both give {key}; keep one (or map one to another "
                            "name in a mapping file)", source=str(path), key=f"header (row {table.header_row})")
        names[key] = str(column)
        keep[key] = _relabel(table.cells[column], mapping.values.get(key))
    df = pd.DataFrame(keep)
    df["_row"] = table.rows
    empty = np.ones(len(df), dtype=bool)
    for key in keep:
        empty &= (df[key] == "").to_numpy()
    return df[~empty].reset_index(drop=True), names


def _require(path: Path, df: pd.DataFrame, columns: tuple[str, ...], header_row: int, layout: str) -> None:
    """Every column a layout needs is there."""
    if missing := [c for c in columns if c not in df.columns]:
        described = ", ".join(f"{c} ({COLUMNS[c][0]})" for c in missing)
        raise UserError(f"missing column(s) {described}; a register of {layout} rows needs "
                        f"{', '.join(f'{c} ({COLUMNS[c][0]})' for c in columns)}", source=str(path),
                        key=f"header (row {header_row})")


def read_register(path: str | Path, mapping: Mapping | None = None) -> Register:
    """Read a register file into one text row per household (person rows aggregated).

    Raises:
        UserError: one line naming the file, the row and column, and what was expected.
    """
    path = Path(path)
    mapping = mapping or Mapping()
    table = read_table(path, mapping)
    df, names = _rename(table, mapping, path)
    persons = "person_id" in df.columns or "relationship" in df.columns
    layout = "persons" if persons else "households"
    _require(path, df, REQUIRED_COMMON + (REQUIRED_PERSON_ROWS if persons else REQUIRED_HOUSEHOLD_ROWS),
             table.header_row, "person" if persons else "household")
    if df.empty:
        raise UserError("the register has no households", source=str(path))
    if not persons:
        return Register(df, names, layout, 0, path)
    return Register(aggregate_persons(path, df, names), names, layout, len(df), path)


# ------------------------------------------------------------------ person rows -> households


def _labels(path: Path, df: pd.DataFrame, column: str, names: dict[str, str], table: dict[str, bool],
            what: str) -> np.ndarray:
    """A column of known labels read through ``table``; an unknown label names its row."""
    value = per_label(df[column], lambda s: int(table[s.lower()]) if s.lower() in table else -1, np.int8)
    first_bad(path, df, value < 0, column, names, f"unknown {names.get(column, column)}; expected {what} "
              "(or map it in a mapping file)")
    return value == 1


def _matches(path: Path, df: pd.DataFrame, column: str, names: dict[str, str], no: frozenset[str],
             yes: re.Pattern[str], what: str) -> np.ndarray:
    """A column read as yes when it matches ``yes``, no when it is one of ``no``, an error otherwise."""
    def read(s: str) -> int:
        s = s.lower()
        if s in no:
            return 0
        return 1 if yes.search(s) and not re.match(r"(非|不|未|无)", s) else -1

    value = per_label(df[column], read, np.int8)
    first_bad(path, df, value < 0, column, names,
              f"unknown {names.get(column, column)}; expected {what} (or map it in a mapping file)")
    return value == 1


def yes_no(path: Path, df: pd.DataFrame, column: str, names: dict[str, str]) -> np.ndarray:
    """A yes/no column (是/否, yes/no, 1/0, true/false)."""
    value = per_label(df[column], lambda s: 1 if s.lower() in YES else 0 if s.lower() in NO else -1, np.int8)
    first_bad(path, df, value < 0, column, names, "expected yes or no (是/否, 1/0)")
    return value == 1


def aggregate_persons(path: Path, df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Households from person rows, vectorized (group-bys over the whole table).

    size = member rows; labour = members whose 劳动技能 is ordinary or skilled labour (or who
    work away, 务工), unless 健康状况 says 患有大病; students = members whose 在校生状况 names a
    school; insured = every member in basic medical insurance (参加城乡居民基本医疗保险; else
    参加大病医疗). Household fields must agree across a household's rows (empty cells are
    allowed); exactly one member is 户主. Person ids (人编号), when given, are unique.
    """
    ids = df["household_id"]
    first_bad(path, df, ids == "", "household_id", names, "household id (户编号) is empty")
    if "person_id" in df.columns:
        first_bad(path, df, df["person_id"] == "", "person_id", names, "person id (人编号) is empty")
        first_duplicate(path, df, "person_id", names, "person id")
    codes, uniques = pd.factorize(ids, sort=False)
    n = len(uniques)
    first_row_of = np.full(n, len(df), dtype=np.int64)
    np.minimum.at(first_row_of, codes, np.arange(len(df)))

    head = per_label(df["relationship"], lambda s: s.lower() in HEAD, bool)
    heads = np.bincount(codes, weights=head, minlength=n)
    if (heads != 1).any():
        h = int(np.flatnonzero(heads != 1)[0])
        i = int(first_row_of[h])
        what = "no household head (户主)" if heads[h] == 0 else f"{int(heads[h])} household heads (户主); expected one"
        raise fail(path, int(df["_row"].iloc[i]), names["relationship"],
                   f"household {uniques[h]!r} has {what} among its member rows")

    able = _labels(path, df, "labour_skill", names, ABLE, "普通劳动力, 技能劳动力, 弱劳动力或半劳动力, 丧失劳动力 or 无劳动力")
    if "work" in df.columns:
        able |= _matches(path, df, "work", names, NOT_WORKING, WORKING, "a 务工 place (乡镇内务工, 省外务工, ...) or 否")
    if "health" in df.columns:
        able &= ~_labels(path, df, "health", names, HEALTH, "健康, 长期慢性病, 患有大病 or 残疾")
    student = _matches(path, df, "in_school", names, NOT_IN_SCHOOL, IN_SCHOOL,
                       "a school level (学前教育, 小学, 初中, 高中, 中职, 大专, 本科, ...) or 非在校生")
    insured_column = next((c for c in ("basic_insurance", "serious_illness_insurance", "insured") if c in df.columns), None)
    if insured_column is None:
        raise UserError(f"missing column basic_insurance ({COLUMNS['basic_insurance'][0]}) or "
                        f"serious_illness_insurance ({COLUMNS['serious_illness_insurance'][0]})", source=str(path),
                        key="header")
    insured = yes_no(path, df, insured_column, names)

    out: dict[str, Any] = {"household_id": uniques.astype(str)}
    for column in HOUSEHOLD_FIELDS:
        if column not in df.columns:
            continue
        values, text = category_table(df[column])
        given = values != _code_of(text, "")
        # the household's value: its first non-empty cell (every non-empty cell must agree)
        order = np.lexsort((~given, codes))
        first_given = np.full(n, -1, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
        first_given[codes[order][starts]] = np.where(given[order[starts]], order[starts], -1)
        value = values[np.maximum(first_given, 0)][codes]
        conflict = given & (values != value)
        if conflict.any():
            i = int(np.flatnonzero(conflict)[0])
            other = int(df["_row"].iloc[int(first_given[codes[i]])])
            raise fail(path, int(df["_row"].iloc[i]), names[column],
                       f"household {ids.iloc[i]!r} has {text[values[i]]!r} here but {text[value[i]]!r} in row "
                       f"{other}; a household field must be the same on every member's row")
        out[column] = pd.Categorical(np.where(first_given >= 0, text[values[np.maximum(first_given, 0)]], ""))
    members = np.bincount(codes, minlength=n)
    households = pd.DataFrame(out)
    if "size" in households.columns:
        stated = pd.to_numeric(households["size"], errors="coerce").to_numpy()
        differs = (households["size"] != "").to_numpy() & (stated != members)
        if differs.any():
            h = int(np.flatnonzero(differs)[0])
            raise fail(path, int(df["_row"].iloc[int(first_row_of[h])]), names["size"],
                       f"household {uniques[h]!r} has {members[h]} member rows but {names['size']} says "
                       f"{households['size'].iloc[h]!r}")
    counts = {"size": members, "labour": np.bincount(codes, weights=able, minlength=n),
              "students": np.bincount(codes, weights=student, minlength=n)}
    for column, count in counts.items():  # as text, like a household row's cells
        households[column] = pd.Categorical(count.astype(np.int64).astype(str))
    all_insured = np.bincount(codes, weights=insured, minlength=n) == members
    households["insured"] = pd.Categorical(np.where(all_insured, "是", "否"))
    households["_row"] = df["_row"].to_numpy()[first_row_of]
    return households
