"""``explorer.html``: one standalone, offline page to look at -- and listen to -- a run's clusters.

Bokeh draws the 2-D UMAP of each representation (computed once per run, ``embeddings_2d.npz``) with its JavaScript
inlined (no CDN, no server). One selector picks the representation, another the colouring: the clusters of any
clusterer (first seed, primary label's k) or any label column. Hovering shows title, artist, labels and the first line
of the lyrics; clicking a point plays that track in the page's audio player (paths relative to the run folder, so the
page works where the audio is). Runs without audio files (a features table, a lyrics table) show no player and say why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic
from .report import TEMPLATES

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#dbdb8d",
    "#393b79",
)
NOISE = "#c8c8c8"


def _colours(values) -> tuple[list[str], list[str]]:
    """``(colour per point, legend label per point)``: one palette colour per class (noise and blanks grey)."""
    labels = [
        "(none)" if (v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in ("", "nan", "<NA>")) else str(v)
        for v in values
    ]
    classes = sorted(set(labels) - {"(none)", "-1"}, key=lambda c: (len(c), c))
    index = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(classes)}
    return [index.get(lab, NOISE) for lab in labels], ["noise" if lab == "-1" else lab for lab in labels]


def first_line(text) -> str:
    """The first line of a lyric that is sung (section markers such as ``[Verse 1]`` skipped), at most 120 chars."""
    for line in str(text or "").splitlines():
        line = line.strip()
        if line and not (line.startswith("[") and line.endswith("]")):  # skip section markers like [Verse 1]
            return line[:120]
    return ""


def audio_url(path: str, run_dir: Path) -> str:
    """The URL the page's player loads ``path`` from: relative to the run folder (the page works wherever the run and
    the audio move together), percent-encoded, as a file name such as ``Song #1.mp3``, ``What?.wav`` or ``100%.mp3``
    would otherwise be cut at its ``#`` or ``?`` or misread at its ``%``. An audio file on another drive than the run
    (Windows, where no relative path exists) gets its absolute ``file:`` URL."""
    from urllib.parse import quote

    target = Path(path).resolve()
    try:
        return quote(os.path.relpath(target, run_dir.resolve()).replace(os.sep, "/"))
    except ValueError:
        return target.as_uri()


def explorer_data(run_dir: Path, tracks: pd.DataFrame, label_columns: list[str], clusters: pd.DataFrame) -> dict:
    """The columns and options of the page, from the run's own files (pure: nothing is recomputed)."""
    emb = np.load(run_dir / "embeddings_2d.npz")
    reps = [k[:-3] for k in emb.files if k.endswith("_xy")]
    n = len(tracks)
    data: dict[str, list] = {"track_id": tracks["track_id"].astype(str).tolist()}
    for col, default in (("title", ""), ("artist", ""), ("year", "")):
        data[col] = tracks[col].fillna(default).astype(str).tolist() if col in tracks.columns else [""] * n
    data["year"] = ["" if y in ("0", "nan") else y for y in data["year"]]  # the MSD's 0: year unknown
    data["lyric"] = (
        tracks["lyrics_first_line"].fillna("").astype(str).tolist()
        if "lyrics_first_line" in tracks.columns
        else [""] * n
    )
    data["labels"] = [", ".join(f"{c}: {tracks[c].iloc[i]}" for c in label_columns) for i in range(n)]
    if "audio_path" in tracks.columns:
        data["audio"] = [audio_url(p, run_dir) if isinstance(p, str) and p else "" for p in tracks["audio_path"]]
    else:
        data["audio"] = [""] * n
    colourings: dict[str, list[str]] = {}  # "<rep>|<colouring>" -> key into data
    for c in label_columns:
        data[f"c:{c}"], data[f"l:{c}"] = _colours(tracks[c].tolist())
    for rep in reps:
        xy, rows = emb[f"{rep}_xy"], emb[f"{rep}_rows"]
        x, y = np.full(n, np.nan), np.full(n, np.nan)
        x[rows], y[rows] = xy[:, 0], xy[:, 1]
        data[f"x:{rep}"], data[f"y:{rep}"] = x.tolist(), y.tolist()
        options = [c for c in label_columns]
        for col in clusters.columns:
            if col.startswith(f"{rep}/"):
                clu = col.split("/", 1)[1]
                data[f"c:{rep}/{clu}"], data[f"l:{rep}/{clu}"] = _colours(clusters[col].tolist())
                options.append(f"cluster: {clu}")
        colourings[rep] = options
    return {"data": data, "reps": reps, "colourings": colourings, "labels": label_columns}


def cards_for_page(run_dir: Path, clusters: pd.DataFrame) -> dict:
    """``{clusters.csv column: {"title", "reason", "cards": {legend label: card}}}`` for the methods with cluster cards,
    each card with its colour on the map and its playlist (relative to the run folder)."""
    from .cards import read_cards

    out = {}
    for method in read_cards(run_dir):
        col = method["column"]
        if col in clusters.columns:
            colours, legend = _colours(clusters[col].tolist())
            colour_of = dict(zip(legend, colours))
        else:  # a clustering only the cards hold (another k): the page cannot colour by it
            colour_of = {}
        cards = {}
        for card in method["cards"]:
            key = "noise" if card["noise"] else str(card["cluster"])
            cards[key] = {
                **card,
                "colour": colour_of.get(key, NOISE),
                "playlist": method.get("playlists", {}).get(str(card["cluster"]), ""),
            }
        k_text = f", k={method['k']}" if method.get("uses_k", True) else ""
        out[col] = {
            "title": f"{method['representation']} + {method['clusterer']}{k_text}",
            "representation": method["representation"],
            "colouring": "cluster: " + col.split("/", 1)[1],
            "reason": method["reason"],
            "colourable": col in clusters.columns,
            "cards": cards,
        }
    return out


def write_explorer(run_dir: str | Path) -> Path:
    """Write ``<run>/explorer.html`` from the run's files (tracks.csv, clusters.csv, embeddings_2d.npz)."""
    from bokeh.embed import components
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Select, TapTool
    from bokeh.plotting import figure
    from bokeh.resources import INLINE
    from jinja2 import Environment, FileSystemLoader

    run_dir = Path(run_dir)
    info = json.loads((run_dir / "config.json").read_text())
    tracks = pd.read_csv(run_dir / "tracks.csv", keep_default_na=False, dtype={"track_id": str})
    clusters = pd.read_csv(run_dir / "clusters.csv", dtype={"track_id": str})
    labels = info["resolved"]["label_columns"]
    page = explorer_data(run_dir, tracks, labels, clusters)
    data, reps = page["data"], page["reps"]
    rep0 = next((r for r in reps if np.isfinite(data[f"x:{r}"]).all()), reps[0])
    first = labels[0]
    data.update(
        x=list(data[f"x:{rep0}"]),
        y=list(data[f"y:{rep0}"]),
        color=list(data[f"c:{first}"]),
        legend=list(data[f"l:{first}"]),
    )
    source = ColumnDataSource(data, name="tracks")
    plot = figure(
        width=760,
        height=560,
        title=f"{rep0}: 2-D UMAP, coloured by {first}",
        name="map",
        tools="pan,wheel_zoom,box_zoom,reset,tap",
        toolbar_location="above",
    )
    plot.scatter(
        "x",
        "y",
        source=source,
        size=9,
        fill_color="color",
        line_color="white",
        line_width=0.5,
        legend_field="legend",
        name="points",
    )
    plot.legend.name = "legend"
    plot.legend.location = "top_left"
    plot.legend.label_text_font_size = "9pt"
    plot.add_layout(plot.legend[0], "right")
    plot.add_tools(
        HoverTool(
            tooltips=[
                ("track", "@track_id"),
                ("title", "@title"),
                ("artist", "@artist"),
                *([("year", "@year")] if any(data["year"]) else []),
                ("labels", "@labels"),
                ("lyrics", "@lyric"),
            ]
        )
    )
    rep_select = Select(title="representation", value=rep0, options=reps, name="rep_select", width=220)
    colour_select = Select(
        title="colour by", value=first, options=page["colourings"][rep0], name="colour_select", width=220
    )
    update = CustomJS(
        args={
            "source": source,
            "rep": rep_select,
            "colour": colour_select,
            "plot": plot,
            "options": page["colourings"],
        },
        code="""
        const d = source.data;
        const r = rep.value;
        if (!options[r].includes(colour.value)) { colour.value = options[r][0]; }
        colour.options = options[r];
        const key = colour.value.startsWith("cluster: ") ? r + "/" + colour.value.slice(9) : colour.value;
        d.x = d["x:" + r].slice(); d.y = d["y:" + r].slice();
        d.color = d["c:" + key].slice(); d.legend = d["l:" + key].slice();
        source.selected.indices = [];
        plot.title.text = r + ": 2-D UMAP, coloured by " + colour.value;
        source.change.emit();
        if (window.musiclustColouring) { window.musiclustColouring(key); }
    """,
    )
    rep_select.js_on_change("value", update)
    colour_select.js_on_change("value", update)
    has_audio = any(data["audio"])
    play = CustomJS(
        args={"source": source},
        code="""
        const i = source.selected.indices[0];
        if (i === undefined) { return; }
        const d = source.data;
        if (window.musiclustShowCard) { window.musiclustShowCard(null, d.legend[i]); }
        const player = document.getElementById("player");
        const now = document.getElementById("now-playing");
        if (!player || !d.audio[i]) { return; }
        player.src = d.audio[i];
        now.textContent = (d.title[i] || d.track_id[i]) + (d.artist[i] ? " -- " + d.artist[i] : "") + "  (" +
                          d.labels[i] + ")";
        player.play();
    """,
    )
    source.selected.js_on_change("indices", play)
    plot.select_one(TapTool).behavior = "select"
    script, div = components(column(row(rep_select, colour_select), plot))
    if has_audio:
        audio_note = "Click a point to play that track."
    else:
        audio_note = (
            "This run has no audio files (a table of features or of lyrics), so there is nothing to play; "
            "hover to see each track."
        )
    cards = cards_for_page(run_dir, clusters)
    # inside a <script> element: "</" must not end it early
    cards_json = json.dumps(cards, ensure_ascii=False).replace("</", "<\\/")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("explorer.html.j2").render(
        title=f"musiclust explorer: {info['run_id']}",
        run_id=info["run_id"],
        n_tracks=len(tracks),
        dataset=info["dataset"]["name"],
        resources=INLINE.render(),
        script=script,
        div=div,
        has_audio=has_audio,
        audio_note=audio_note,
        cards_json=cards_json,
        has_cards=bool(cards),
        first_colouring=first,
    )
    out = run_dir / "explorer.html"
    atomic.write_text(out, html)
    return out
