"""The embedded default dataset: real compositions with their real lyrics, synthesized to audio offline.

What it is, plainly: the scores come from the corpus that the ``music21`` package bundles (Bach chorales, Monteverdi
madrigals, Trecento songs and mass movements, Palestrina masses, fiddle tunes from Ryan's Mammoth Collection, string
quartets by Haydn, Mozart and Beethoven). The lyrics are the text printed in those scores, read with
``music21.text.assembleLyrics``; a score without lyric text (all of Palestrina's Humdrum files, some chorales) gets an
empty ``lyrics`` field and ``has_lyrics = False`` -- nothing is invented. The *performance* is synthetic: each score is
exported to MIDI, given one General MIDI program per ensemble type and rendered with the ``TimGM6mb.sf2`` SoundFont that
the ``pretty_midi`` wheel ships, by ``midirenderer`` (no system libraries, no downloads).

Audio: the first ``excerpt_seconds`` (default 30 s) of each piece, 22050 Hz mono 16-bit WAV, peak-normalized to -1 dBFS.
Pieces shorter than the excerpt are kept whole (their ``duration_s`` in the manifest says so), not padded, so no
artificial silence enters the features. The build is deterministic: two builds give byte-identical audio (checked by
the tests through the manifest's ``sha256`` column).

Languages are the scores' own: German (Bach), Italian (Monteverdi; Trecento secular songs of PMFC vols. 4 and 6), Latin
(Palestrina; the Trecento sacred pieces and motets), ``none`` for instrumental music. ``language_source`` records where
each value came from.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MusiclustError
from .base import Dataset
from .download import file_hash

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050
RENDER_RATE = 48000  # what midirenderer produces
PEAK_DBFS = -1.0
BUILD_VERSION = 1  # bump when the rendering recipe changes, so stale audio is rebuilt

# General MIDI programs (0-based) per ensemble type.
ENSEMBLES: dict[str, list[int]] = {
    "choir": [52],  # Choir Aahs
    "voices": [53],  # Voice Oohs: a small vocal consort
    "strings": [40, 40, 41, 42],  # violin I, violin II, viola, cello
    "fiddle": [110],  # Fiddle
}


@dataclass(frozen=True)
class StyleClass:
    """One style class of the corpus: where its scores are and how they are performed."""

    style: str
    collections: tuple[str, ...]  # music21 corpus folders (relative path prefixes)
    extension: str
    ensemble: str
    language: str  # ISO 639-1, "none" for instrumental, or "by_volume" (Trecento, see _language_for)
    composer: str  # used when the score's metadata names none
    exclude: tuple[str, ...] = ()


STYLE_CLASSES: tuple[StyleClass, ...] = (
    StyleClass("bach_chorale", ("bach/",), ".mxl", "choir", "de", "Johann Sebastian Bach"),
    StyleClass("monteverdi_madrigal", ("monteverdi/",), ".mxl", "voices", "it", "Claudio Monteverdi"),
    StyleClass("trecento", ("trecento/",), ".xml", "voices", "by_volume", "anonymous", exclude=("_bak.xml",)),
    StyleClass("palestrina_mass", ("palestrina/",), ".krn", "choir", "la", "Giovanni Pierluigi da Palestrina"),
    StyleClass("fiddle_tune", ("ryansMammoth/",), ".abc", "fiddle", "none", "traditional"),
    StyleClass(
        "string_quartet",
        ("haydn/", "mozart/", "beethoven/"),
        ".mxl",
        "strings",
        "none",
        "(by folder)",
        exclude=("mozart/k545",),
    ),  # k545 is a piano sonata
)

DEFAULT_ROOT = Path("music_data") / "corpus"
MANIFEST = "manifest.csv"
INFO = "corpus_info.json"

DESCRIPTION = (
    "Embedded multilingual corpus: real compositions and their real lyrics from the scores bundled with music21 "
    "(Bach chorales in German, Monteverdi madrigals in Italian, Trecento songs and mass movements in Italian and "
    "Latin, Palestrina masses in Latin without lyric text, fiddle tunes and string quartets without words), with a "
    "synthesized "
    "performance: each score rendered from MIDI with the General MIDI SoundFont TimGM6mb. It is not a recording of "
    "musicians; timbre is one GM program per ensemble type, so style differences are mostly compositional."
)


def _corpus_root_of_music21() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def candidate_scores(style_class: StyleClass) -> list[str]:
    """Sorted music21-corpus-relative paths of all scores of one style class."""
    base = _corpus_root_of_music21()
    found = []
    for coll in style_class.collections:
        for path in (base / coll).rglob(f"*{style_class.extension}"):
            rel = path.relative_to(base).as_posix()
            if not any(x in rel for x in style_class.exclude):
                found.append(rel)
    return sorted(found)


DEFAULT_N_PER_CLASS = 50


def _spread(items: list, n: int) -> list:
    if n >= len(items):
        return list(items)
    idx = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in idx]


def select_scores(style_class: StyleClass, n: int) -> list[str]:
    """Up to ``n`` scores spread evenly over the sorted candidates (deterministic, no random choice).

    Smaller selections are nested in the default one (``n <= 50`` picks from the default 50), so a quick run's
    pieces are a subset of the full corpus and are never rendered twice."""
    cands = candidate_scores(style_class)
    if n <= DEFAULT_N_PER_CLASS:
        return _spread(_spread(cands, DEFAULT_N_PER_CLASS), n)
    return _spread(cands, n)


def _language_for(style_class: StyleClass, rel_path: str) -> tuple[str, str]:
    """(language, where it came from)."""
    if style_class.language != "by_volume":
        source = "none (instrumental)" if style_class.language == "none" else "collection"
        return style_class.language, source
    # Trecento files are named after their edition volume, Polyphonic Music of the Fourteenth Century (PMFC):
    # vols. 4 (Landini) and 6 (Jacopo, Giovanni, Piero) hold Italian secular songs; the others here hold
    # Latin motets and mass movements.
    m = re.search(r"PMFC_(\d+)", rel_path)
    if m and int(m.group(1)) in (4, 6):
        return "it", "edition volume (PMFC 4/6: Italian secular)"
    return "la", "edition volume (Latin sacred/motet)"


def _track_id(style: str, rel_path: str) -> str:
    stem = rel_path.split("/", 1)[1] if "/" in rel_path else rel_path
    stem = os.path.splitext(stem)[0]
    return f"{style}-" + re.sub(r"[^A-Za-z0-9.]+", "_", stem).strip("_")


QUARTET_COMPOSERS = {"haydn": "Joseph Haydn", "mozart": "Wolfgang Amadeus Mozart", "beethoven": "Ludwig van Beethoven"}


def _composer(style_class: StyleClass, rel_path: str, from_score: str | None) -> str:
    """The collection's composer where it is known for certain; otherwise the score's own (first line) metadata.

    Score metadata in these collections is unreliable (a Monteverdi file names its title as the composer)."""
    folder = rel_path.split("/")[0]
    if folder in QUARTET_COMPOSERS:
        return QUARTET_COMPOSERS[folder]
    if style_class.composer and style_class.composer != "anonymous":
        return style_class.composer
    first_line = (from_score or "").strip().splitlines()[0] if (from_score or "").strip() else ""
    return re.sub(r"\s+", " ", first_line).strip() or "anonymous"


def _clean_lyrics(text: str) -> str:
    text = text.replace("\xad", "")  # soft hyphens from syllable splitting
    return re.sub(r"\s+", " ", text).strip()


def _score_lyrics(score) -> str:
    """The lyric text of a score: the part with the most text (voices usually sing the same words)."""
    from music21 import text as m21text

    best = ""
    for part in getattr(score, "parts", [score]):
        try:
            lyr = _clean_lyrics(m21text.assembleLyrics(part))
        except Exception:  # a part without lyric objects can fail inside music21
            lyr = ""
        if len(lyr) > len(best):
            best = lyr
    return best


def _trim_score(score, excerpt_seconds: float):
    """The score's opening measures, enough for the excerpt at any tempo up to 240 qpm (long movements export and
    render slowly, and some produce corrupt MIDI when exported whole)."""
    parts = getattr(score, "parts", None)
    if not parts:
        return score
    measures = list(parts[0].getElementsByClass("Measure"))
    if not measures:
        return score
    limit_ql = excerpt_seconds * 240 / 60
    numbers = [m.number for m in measures if m.offset < limit_ql]
    if measures[-1].number == numbers[-1]:
        return score
    return score.measures(measures[0].number, numbers[-1])


def _without_measures(score):
    """Each part as a flat stream of notes and tempo marks (no barlines, so no repeats to expand)."""
    from music21 import stream

    flat_score = stream.Score()
    for part in score.parts:
        flat = part.flatten().getElementsByClass(["GeneralNote", "MetronomeMark"]).stream()
        new_part = stream.Part()
        for el in flat:
            new_part.insert(el.getOffsetBySite(flat), el)
        flat_score.insert(0, new_part)
    return flat_score


def _score_to_midi_bytes(score) -> tuple[bytes, bool]:
    """MIDI bytes of a score, and whether repeats were expanded (scores with malformed repeats are played once)."""
    from music21 import midi, repeat

    try:
        return midi.translate.music21ObjectToMidiFile(score).writestr(), True
    except repeat.ExpanderException:
        return midi.translate.music21ObjectToMidiFile(_without_measures(score)).writestr(), False


def _assign_programs(midi_bytes: bytes, programs: list[int], excerpt_seconds: float) -> bytes:
    """Give each instrument track its ensemble's GM program and drop notes after the excerpt."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    pm.instruments = [inst for inst in pm.instruments if inst.notes]
    for i, inst in enumerate(pm.instruments):
        inst.program = programs[min(i, len(programs) - 1)]
        inst.is_drum = False
        inst.notes = [n for n in inst.notes if n.start < excerpt_seconds]
        for n in inst.notes:
            n.end = min(n.end, excerpt_seconds)
        inst.control_changes = [c for c in inst.control_changes if c.time < excerpt_seconds]
        inst.pitch_bends = []
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


def soundfont_path() -> Path:
    import pretty_midi

    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.exists():
        raise MusiclustError(
            "pretty_midi's TimGM6mb.sf2 SoundFont is missing: reinstall with `pip install pretty_midi`"
        )
    return path


def render_midi(midi_bytes: bytes, sf2_bytes: bytes, excerpt_seconds: float) -> np.ndarray:
    """Render MIDI to a mono float32 waveform at 22050 Hz, at most ``excerpt_seconds`` long, peak at -1 dBFS."""
    import midirenderer
    import soundfile as sf
    import soxr

    wav = midirenderer.render_wave_from(sf2_bytes, midi_bytes)
    y, sr = sf.read(io.BytesIO(wav), dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    y = soxr.resample(y, sr, SAMPLE_RATE, quality="HQ")
    y = y[: int(round(excerpt_seconds * SAMPLE_RATE))]
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y = y * (10 ** (PEAK_DBFS / 20) / peak)
    return y.astype(np.float32)


MUSICXML_SUFFIXES = (".mxl", ".xml", ".musicxml")


def _measure_lengths(part) -> list[float]:
    """Quarter lengths of each ``<measure>`` of a MusicXML ``<part>`` element: the furthest point its notes, rests,
    ``<forward>`` and ``<backup>`` reach, in ``<divisions>`` per quarter (chord tones and grace notes take no time)."""
    divisions, out = 1.0, []
    for measure in part.findall("measure"):
        pos = top = 0.0
        for el in measure:
            duration = el.find("duration")
            step = float(duration.text) if duration is not None and duration.text else 0.0
            if el.tag == "attributes":
                d = el.find("divisions")
                if d is not None and d.text:
                    divisions = float(d.text)
            elif el.tag == "note" and el.find("grace") is None and el.find("chord") is None:
                pos += step
            elif el.tag == "backup":
                pos -= step
            elif el.tag == "forward":
                pos += step
            top = max(top, pos)
        out.append(top / divisions)
    return out


def _parse_opening(path: Path, quarter_lengths: float, spare: int = 8):
    """A MusicXML score parsed from its opening measures only: those before ``quarter_lengths`` quarters, and
    ``spare`` more, in every part. A string-quartet movement runs to hundreds of measures (opus 132: 1124), of which an
    excerpt needs a few dozen, and music21 spent seconds parsing the rest. Parsed as music21's own file parser does
    (`ConverterMusicXML.parseFile`: the same importer, the file name as the movement name when none is given). None when
    the file is not a partwise score (the caller parses it whole)."""
    import xml.etree.ElementTree as ET

    from music21 import converter
    from music21.musicxml import xmlToM21

    if path.suffix == ".mxl":
        text = converter.ArchiveManager(str(path)).getData()
        root = ET.parse(io.StringIO(text.decode("utf-8") if isinstance(text, bytes) else text)).getroot()
    else:
        root = ET.parse(str(path)).getroot()
    parts = root.findall("part")
    if root.tag != "score-partwise" or not parts:
        return None
    lengths = _measure_lengths(parts[0])
    total, keep = 0.0, len(lengths)
    for i, ql in enumerate(lengths):
        if total >= quarter_lengths:
            keep = min(len(lengths), i + spare)
            break
        total += ql
    for part in parts:
        for measure in part.findall("measure")[keep:]:
            part.remove(measure)
    importer = xmlToM21.MusicXMLImporter()
    importer.xmlRootToScore(root, importer.stream)
    score = importer.stream
    if score.metadata.movementName is None:
        score.metadata.movementName = path.name
    return score


def _parse_score(style_class: StyleClass, rel_path: str, excerpt_seconds: float):
    """The music21 score of ``rel_path``. An instrumental MusicXML score is parsed from its opening only (twice what
    `_trim_score` keeps, at any tempo up to 240 qpm; the rendered audio is byte-identical, tests/test_corpus.py), a
    score with words whole: its lyrics are read from the whole piece."""
    from music21 import converter

    path = _corpus_root_of_music21() / rel_path
    if style_class.language == "none" and path.suffix in MUSICXML_SUFFIXES:
        score = _parse_opening(path, 2 * excerpt_seconds * 240 / 60)
        if score is not None:
            return score
    return converter.parse(str(path), forceSource=True)


def _render_one(style_class: StyleClass, rel_path: str, out_dir: str, excerpt_seconds: float) -> dict:
    """Parse, render and write one score. Runs in a worker process; returns a manifest row or an error row."""
    import soundfile as sf

    track_id = _track_id(style_class.style, rel_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = _parse_score(style_class, rel_path, excerpt_seconds)
        # an instrumental class has no words to read (and assembling a long movement's lyric text took 0.4 s)
        lyrics = "" if style_class.language == "none" else _score_lyrics(score)
        md = score.metadata
        composer = _composer(style_class, rel_path, md.composer if md is not None else None)
        title = (md.title if md is not None and md.title else "") or os.path.splitext(rel_path.split("/")[-1])[0]
        midi_bytes, repeats_expanded = _score_to_midi_bytes(_trim_score(score, excerpt_seconds))
        midi_bytes = _assign_programs(midi_bytes, ENSEMBLES[style_class.ensemble], excerpt_seconds)
        y = render_midi(midi_bytes, soundfont_path().read_bytes(), excerpt_seconds)
        if y.size < SAMPLE_RATE:  # less than a second of sound: nothing to learn from
            return {"track_id": track_id, "error": "rendered audio shorter than 1 s"}
        rel_audio = f"audio/{track_id}.wav"
        buf = io.BytesIO()
        sf.write(buf, y, SAMPLE_RATE, format="WAV", subtype="PCM_16")
        data = buf.getvalue()
        tmp = Path(out_dir) / (rel_audio + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, Path(out_dir) / rel_audio)
        language, language_source = _language_for(style_class, rel_path)
        duration = y.size / SAMPLE_RATE
        return {
            "track_id": track_id,
            "audio_path": rel_audio,
            "style": style_class.style,
            "language": language,
            "language_source": language_source,
            "composer": composer,
            "title": re.sub(r"\s+", " ", str(title)).strip(),
            "lyrics": lyrics,
            "has_lyrics": bool(lyrics),
            "ensemble": style_class.ensemble,
            "gm_programs": " ".join(map(str, ENSEMBLES[style_class.ensemble])),
            "source_score": f"music21/corpus/{rel_path}",
            "duration_s": round(duration, 3),
            "excerpt": f"first {excerpt_seconds:g}s" if duration >= excerpt_seconds - 0.01 else "whole piece (shorter)",
            "repeats_expanded": repeats_expanded,
            "sample_rate": SAMPLE_RATE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "performance": "synthesized (General MIDI, TimGM6mb.sf2)",
        }
    except Exception as exc:  # one bad score must not stop the build: it is listed in corpus_info.json
        return {"track_id": track_id, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}


def _build_params(n_per_class: int, excerpt_seconds: float, styles: list[str]) -> dict:
    from importlib.metadata import version

    import midirenderer  # noqa: F401  (version below)
    import music21

    return {
        "build_version": BUILD_VERSION,
        "n_per_class": n_per_class,
        "excerpt_seconds": excerpt_seconds,
        "styles": styles,
        "sample_rate": SAMPLE_RATE,
        "music21": music21.__version__,
        "midirenderer": version("midirenderer"),
        "soundfont_sha256": file_hash(soundfont_path(), "sha256"),
    }


def validate(root: str | Path = DEFAULT_ROOT) -> tuple[list[str], list[str]]:
    """Check a built corpus against its manifest: returns ``(missing, invalid)`` track ids; never raises on bad
    files."""
    root = Path(root)
    manifest = pd.read_csv(root / MANIFEST, keep_default_na=False)
    missing, invalid = [], []
    for row in manifest.itertuples():
        path = root / row.audio_path
        if not path.exists():
            missing.append(row.track_id)
        elif file_hash(path, "sha256") != row.sha256:
            invalid.append(row.track_id)
    return missing, invalid


def build(
    root: str | Path = DEFAULT_ROOT,
    n_per_class: int = 50,
    excerpt_seconds: float = 30.0,
    styles: list[str] | None = None,
    n_jobs: int = -1,
    progress: bool = True,
) -> pd.DataFrame:
    """Build the corpus into ``root`` (or reuse it when it is already built with the same parameters).

    Returns the manifest, one row per track. Tracks already rendered with the same parameters and intact on disk
    (sha256 checked) are reused; the rest are rendered in parallel over ``n_jobs`` processes.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    root = Path(root)
    by_name = {c.style: c for c in STYLE_CLASSES}
    styles = list(styles or by_name)
    unknown = [s for s in styles if s not in by_name]
    if unknown:
        raise MusiclustError(f"unknown corpus style(s) {unknown}; choose from {sorted(by_name)}")
    if n_per_class < 1:
        raise MusiclustError("n_per_class must be at least 1")
    params = _build_params(n_per_class, excerpt_seconds, styles)

    wanted = [(by_name[s], rel) for s in styles for rel in select_scores(by_name[s], n_per_class)]
    (root / "audio").mkdir(parents=True, exist_ok=True)

    reusable: dict[str, dict] = {}
    if (root / MANIFEST).exists() and (root / INFO).exists():
        old_info = json.loads((root / INFO).read_text())
        old_params = {k: v for k, v in old_info.get("params", {}).items() if k not in ("n_per_class", "styles")}
        new_params = {k: v for k, v in params.items() if k not in ("n_per_class", "styles")}
        if old_params == new_params:
            for row in pd.read_csv(root / MANIFEST, keep_default_na=False).to_dict("records"):
                path = root / row["audio_path"]
                if path.exists() and file_hash(path, "sha256") == row["sha256"]:
                    reusable[row["track_id"]] = row

    todo = [(c, rel) for c, rel in wanted if _track_id(c.style, rel) not in reusable]
    t0 = time.perf_counter()
    rows: list[dict] = []
    if todo:
        log.info("rendering %d of %d corpus pieces into %s", len(todo), len(wanted), root)
        jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_render_one)(c, rel, str(root), excerpt_seconds) for c, rel in todo
        )
        rows = list(tqdm(jobs, total=len(todo), desc="building corpus", unit="piece", disable=not progress))
    build_seconds = time.perf_counter() - t0

    fresh = {r["track_id"]: r for r in rows}
    records, errors = [], []
    for c, rel in wanted:
        tid = _track_id(c.style, rel)
        row = reusable.get(tid) or fresh.get(tid)
        if row is None:
            continue
        if "error" in row and isinstance(row.get("error"), str) and row["error"]:
            errors.append({"item": f"music21/corpus/{rel}", "reason": row["error"]})
        else:
            records.append({k: v for k, v in row.items() if k != "error"})
    if not records:
        raise MusiclustError(f"the corpus build produced no audio in {root}; see the log for the reasons")
    manifest = pd.DataFrame.from_records(records)
    # The manifest on disk lists every intact rendered piece (a union over requests), so a small request never
    # hides pieces that a larger one rendered; the returned manifest is just this request.
    wanted_ids = set(manifest["track_id"])
    extra = [r for tid, r in reusable.items() if tid not in wanted_ids]
    on_disk = pd.concat([manifest, pd.DataFrame.from_records(extra)], ignore_index=True) if extra else manifest

    # Write the manifest and info atomically: a crash mid-build leaves the previous complete manifest in place.
    tmp = root / (MANIFEST + ".part")
    on_disk.to_csv(tmp, index=False)
    os.replace(tmp, root / MANIFEST)
    old_max = 0
    if (root / INFO).exists():
        old_max = json.loads((root / INFO).read_text()).get("n_per_class_max", 0)
    info = {
        "what": DESCRIPTION,
        "params": params,
        "n_per_class_max": max(old_max, n_per_class),
        "n_tracks_on_disk": len(on_disk),
        "n_tracks": len(manifest),
        "counts": {k: int(v) for k, v in manifest["style"].value_counts().sort_index().items()},
        "languages": {k: int(v) for k, v in manifest["language"].value_counts().sort_index().items()},
        "rendered": len(todo),
        "reused": len(wanted) - len(todo),
        "render_seconds": round(build_seconds, 2),
        "failed": errors,
    }
    tmp = root / (INFO + ".part")
    tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False))
    os.replace(tmp, root / INFO)
    # Audio of pieces no longer in the manifest stays on disk untouched (never deleted behind the user's back).
    return manifest


def load(
    path: str | Path | None = None,
    n_per_class: int | None = None,
    styles: list[str] | None = None,
    excerpt_seconds: float | None = None,
    n_jobs: int = -1,
    progress: bool = True,
) -> Dataset:
    """The corpus as a `Dataset` (built first if needed, into ``path``, default ``music_data/corpus``).

    Parameters left as ``None`` keep those of the corpus already built at an explicitly given ``path`` (so pointing
    at a small subset does not grow it), or take the defaults (50 pieces per class, all styles, 30-s excerpts).
    Labels: ``style`` (primary) and ``language``.
    """
    root = Path(path or DEFAULT_ROOT)
    built = {}
    if path is not None and (root / INFO).exists():  # a corpus the user points at keeps its own size
        info = json.loads((root / INFO).read_text())
        built = {
            **info.get("params", {}),
            "n_per_class": info.get("n_per_class_max", info.get("params", {}).get("n_per_class")),
        }
    n_per_class = n_per_class if n_per_class is not None else built.get("n_per_class") or DEFAULT_N_PER_CLASS
    styles = styles if styles is not None else built.get("styles")
    excerpt_seconds = excerpt_seconds if excerpt_seconds is not None else built.get("excerpt_seconds", 30.0)
    manifest = build(root, n_per_class, excerpt_seconds, styles, n_jobs, progress)
    tracks = manifest.copy()
    tracks["audio_path"] = [str(root / p) for p in tracks["audio_path"]]
    info = json.loads((root / INFO).read_text())
    return Dataset(
        name="corpus",
        tracks=tracks,
        label_columns=["style", "language"],
        primary_label="style",
        description=DESCRIPTION,
        skipped=info.get("failed", []),
    )


def style_classes_table() -> pd.DataFrame:
    """The style classes, for documentation and reports."""
    return pd.DataFrame([asdict(c) for c in STYLE_CLASSES])
