"""Playlists to hear a cluster: ``playlists/<method>/cluster_<n>.m3u8``, one per cluster of each method with cards.

Extended M3U in UTF-8 (``.m3u8``): ``#EXTM3U``, then per track ``#EXTINF:<seconds>,<artist> - <title>`` and the audio
file's path relative to the playlist, so the run folder can be moved as long as it stays where it was beside the audio
(VLC, mpv and foobar2000 read it). Durations come from the file's header (soundfile), -1 where it cannot be read.
Noise (-1) is not a cluster and gets no playlist. Runs without audio files get none, and say so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from . import atomic

PLAYLISTS = "playlists"


def _duration(path: Path) -> int:
    import soundfile

    try:
        return int(round(soundfile.info(str(path)).duration))
    except Exception:  # noqa: BLE001 - an unreadable header: the M3U convention for an unknown length
        return -1


def _entry_title(row: pd.Series) -> str:
    title, artist = str(row.get("title", "") or ""), str(row.get("artist", "") or "")
    if title and artist:
        return f"{artist} - {title}"
    return title or Path(str(row["audio_path"])).stem


def m3u8_text(rows: pd.DataFrame, playlist_dir: Path) -> str:
    """The playlist of ``rows`` (tracks.csv rows with ``audio_path``), paths relative to ``playlist_dir``."""
    lines = ["#EXTM3U"]
    for _, row in rows.iterrows():
        audio = Path(str(row["audio_path"])).resolve()
        title = _entry_title(row).replace("\n", " ").replace("\r", " ")
        lines.append(f"#EXTINF:{_duration(audio)},{title}")
        lines.append(os.path.relpath(audio, playlist_dir.resolve()).replace(os.sep, "/"))
    return "\n".join(lines) + "\n"


def write_playlists(run_dir: str | Path, results: list[dict]) -> dict[str, dict[int, str]]:
    """Write the playlists of every method in ``results`` (`cards.write_cards`); returns ``{slug: {cluster: path
    relative to the run}}`` (empty when the run has no audio files)."""
    run_dir = Path(run_dir)
    tracks = pd.read_csv(run_dir / "tracks.csv", keep_default_na=False, dtype={"track_id": str})
    if "audio_path" not in tracks.columns or not (tracks["audio_path"].astype(str) != "").any():
        return {}
    out: dict[str, dict[int, str]] = {}
    for r in results:
        folder = run_dir / PLAYLISTS / r["slug"]
        folder.mkdir(parents=True, exist_ok=True)
        assigned = r["assigned"]
        out[r["slug"]] = {}
        for card in r["cards"]:
            if card["noise"]:
                continue
            rows = tracks[(assigned == card["cluster"]).fillna(False).to_numpy()]
            rows = rows[rows["audio_path"].astype(str) != ""]
            path = folder / f"cluster_{card['cluster']}.m3u8"
            atomic.write_text(path, m3u8_text(rows, folder))
            out[r["slug"]][card["cluster"]] = path.relative_to(run_dir).as_posix()
    return out


__all__ = ["PLAYLISTS", "m3u8_text", "write_playlists"]
