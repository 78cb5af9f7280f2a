"""Reading the tables users bring (metadata, lyrics, features): delimiter sniffed, encoding checked, keys de-duplicated.

Real tables arrive as CSV or TSV, in UTF-8, UTF-8 with a byte-order mark (Excel's "CSV UTF-8") or UTF-16 (Excel's
"Unicode text"). Anything else is refused with one line naming ``--encoding`` rather than read as mojibake.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from pathlib import Path

import pandas as pd

from ..errors import MusiclustError

log = logging.getLogger(__name__)

BLANK_LABELS = frozenset({"", "nan", "unknown", "und"})


def detect_encoding(raw: bytes) -> str:
    """``utf-16`` or ``utf-8-sig`` from a byte-order mark, else ``utf-8`` when the bytes decode as UTF-8.

    Raises `MusiclustError` for bytes that are none of these (e.g. Latin-1 or Windows-1252 text).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MusiclustError(
            f"the table is not UTF-8 or UTF-16 (undecodable byte at position {exc.start}); pass "
            f"--encoding NAME (e.g. --encoding latin-1) or save it as UTF-8"
        ) from None
    return "utf-8"


def read_table(path: str | Path, encoding: str | None = None, what: str = "table") -> pd.DataFrame:
    """A CSV or TSV file as a DataFrame of strings-or-numbers, with its delimiter sniffed.

    ``encoding`` overrides the detection. Empty cells stay empty strings in text columns (never the string "nan").
    """
    path = Path(path)
    if not path.is_file():
        raise MusiclustError(f"{what} {path} does not exist: pass an existing CSV or TSV file")
    raw = path.read_bytes()
    if encoding is None:
        try:
            encoding = detect_encoding(raw)
        except MusiclustError as exc:
            raise MusiclustError(f"{path.name}: {exc}") from None
    try:
        text = raw.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise MusiclustError(
            f"cannot decode {path.name} as {encoding}: {str(exc).splitlines()[0]}; pass another --encoding"
        ) from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise MusiclustError(f"{what} {path} is empty")
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0] + "\n", delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise MusiclustError(f"cannot read {path.name} as a table: {str(exc).splitlines()[0]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise MusiclustError(f"{what} {path} has a header but no rows")
    # text columns: missing cells as "", so a blank label or lyric is an empty string, never float('nan')
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].fillna("").astype(str)
    return df


def duplicate_keys(keys: pd.Series) -> tuple[pd.Series, list[str]]:
    """``(is_later_duplicate, names)``: rows whose key already appeared earlier (the first row wins), and the keys.

    Keys compare exactly: ``Hiphop.00000.wav`` and ``hiphop.00000.wav`` are two keys (a GTZAN + BanglaBeats table
    holds both, for 400 different tracks). Case-insensitive comparison only ever helps find a file, never merges rows.
    """
    norm = keys.astype(str).map(unicode_key)
    dup = norm.duplicated(keep="first") & (norm != "")
    names = sorted(set(keys[dup].astype(str)))
    return dup, names


def exact_duplicate_rows(df: pd.DataFrame) -> pd.Series:
    """Rows equal in every column to an earlier row: the only rows a table may drop as duplicates."""
    return df.astype(str).duplicated(keep="first")


def unique_ids(ids: pd.Series) -> pd.Series:
    """The ids, with a later repeat of an id (a different row under the same name) made distinct as ``id#<row>``
    (the table's row number, header = 1), so no row is lost to a repeated id."""
    ids = ids.astype(str).reset_index(drop=True)
    out = ids.copy()
    seen: set[str] = set()
    for i, v in enumerate(ids):
        if v in seen:
            out[i] = f"{v}#{i + 2}"
        seen.add(v)
    return out


def unicode_key(text: str) -> str:
    """A name as typed or as a file system stores it, compared alike: NFC (macOS writes names decomposed, NFD)."""
    import unicodedata

    return unicodedata.normalize("NFC", str(text))


def warn_duplicates(names: list[str], what: str) -> None:
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        log.warning("%s has %d duplicate key(s): %s; the first row of each wins", what, len(names), shown)


def is_blank_label(value) -> bool:
    """A cell that gives no label: empty, NaN, or an explicit unknown (``unknown``, ``und``)."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return str(value).strip().lower() in BLANK_LABELS
