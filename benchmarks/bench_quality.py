"""Clustering quality of the toolkit's representations on real sets, 5 seeds, against the raw-feature baselines.

    python benchmarks/bench_quality.py [--sets gtzan emotify hybrid hybrid_lyrics corpus] [--seeds 0 1 2 3 4]
                                       [--representations convvae ...]   # re-measure only these (rows merged)
    python benchmarks/bench_quality.py --summarize [--sets ...]   # rebuild the summaries from the stored rows

The sets (read from ../shared/data when present; a missing set is skipped and said so):
  * ``gtzan``: Kaggle's GTZAN feature table (1000 clips, 10 genres); primary label ``genre`` (k=10).
  * ``emotify``: ../shared/data/emotify_dev, 200 real clips, 4 genres x 50; MFCC and musicnn audio features, 3-s
    log-mel crops; label ``genre`` (k=4).
  * ``hybrid``: ../shared/data/hybrid_songs, 200 real English/German song previews with their own lyrics; MFCC and
    musicnn audio features, the lyrics, 3-s log-mel crops; primary label ``genre_tag`` (k=6), also ``language`` (k=2).
  * ``hybrid_lyrics``: the same songs' lyrics alone (`--dataset lyrics`): the feature matrix is the lyrics; labels
    ``language`` (k=2), ``genre_tag``. Guards against posterior collapse on a small, low-variance input.
  * ``corpus``: the embedded corpus (294 scores rendered offline; music_data/corpus, built on first use); primary label
    ``style`` (k=6), also ``language``.
  * ``msd`` / ``msd_timbre``: ../shared/data/msd, 101 real Million Song Dataset tracks (no audio): the Echo Nest summary
    with the song-level values (loudness, tempo, key, mode, time signature, duration; 55-D) and without them (48-D);
    labels tagtraum ``genre`` (15 tracks labelled, k=3), ``decade`` (tracks with a year), ``artist_term``.

Every audio set runs the default study's representations (`config.DEFAULT_REPRESENTATIONS`: the VAE family on MFCC
and on musicnn, `<model>@musicnn`, with raw and PCA of each), less the CVAE (its condition, language, is a label
scored here), plus DEC and IDEC on both inputs.

Every setting is fixed in advance from the toolkit's defaults (`ExperimentConfig`) and none is tuned on the labels:
latent 16, hidden (256, 128), Adam 1e-3, batch 32, at most 40 epochs with early stopping on a 10% validation split
(label-free) counted from the end of a 10-epoch KL warm-up, beta 4 for beta_vae, the ConvVAE's 16 epochs of 10 crops
per clip, IDEC's at most 30 epochs of DEC refinement with gamma 0.1 (DEC: the same without the reconstruction); the
GTZAN table's heavy-tailed ``*_var`` columns (and ``rms_mean``) are log-transformed (a label-free choice) and
``length`` is dropped. Each label is clustered
at its own number of classes -- the only use of the labels besides scoring -- and the VaDE prior (and DEC/IDEC) get the
primary label's k.

For each set: mean +- std over seeds of NMI/ARI/ACC for every representation x clusterer x label, then paired
comparisons: the best VAE-family (representation, clusterer) by mean NMI against each label vs the best raw/PCA one,
and vs the best raw one alone, overall and per input (MFCC, musicnn), with the per-seed differences (same seeds),
their mean +- std, and how many seeds favour the VAE family; each model's active latent units (posterior collapse);
the measured values the issues' targets name, and issue 16's quality targets with a verdict each. Writes
benchmarks/results/quality_<set>.csv (per seed) and quality_summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
BASELINES = ("raw", "pca")
DIRECT = ("raw", "pca", "lyrics", "audio_lyrics")  # not learned: no VAE family
CLUSTERERS = ("kmeans", "gmm", "agglomerative", "umap_kmeans", "umap_gmm")


def gtzan_set():
    path = SHARED / "gtzan" / "features_30_sec.csv"
    if not path.exists():
        return None
    from sklearn.preprocessing import StandardScaler

    from musiclust.representations import Inputs

    df = pd.read_csv(path)
    X = df.drop(columns=["filename", "label", "length"])
    for c in [c for c in X.columns if c.endswith("_var")] + ["rms_mean"]:
        X[c] = np.log(X[c] + 1e-8)
    X = StandardScaler().fit_transform(X.to_numpy(float))
    return {
        "inputs": Inputs(audio=X, features="table"),
        "labels": {"genre": df["label"].to_numpy()},
        "representations": ["raw", "pca", "ae", "vae", "beta_vae", "gmmvae", "idec", "dec"],
    }


def _family_representations() -> list[str]:
    from musiclust.config import DEFAULT_REPRESENTATIONS

    # the default study's representations, less the CVAE (its condition, language, is one of the labels scored
    # here), plus DEC and IDEC on both inputs
    reps = [r for r in DEFAULT_REPRESENTATIONS if not r.startswith("cvae")]
    extra = ["convvae_musicnn", "convvae", "idec", "dec", "idec@musicnn", "dec@musicnn"]
    return reps + [r for r in extra if r not in reps]


def audio_set(dataset, primary: str, extra: list[str]):
    from sklearn.preprocessing import StandardScaler

    from musiclust.features import build_features_many
    from musiclust.features.text import has_text, lyrics_features
    from musiclust.representations import Inputs

    sets = ["mfcc", "musicnn", "logmel_full", *EXTRA_PATCH_SETS]
    fms = build_features_many(
        dataset, sets, n_jobs=-1, progress=False, cache_dir=str(HERE.parent / "music_data" / "cache")
    )
    tracks = fms["mfcc"].dataset.tracks
    L = mask = None
    if "lyrics" in tracks.columns and has_text(tracks["lyrics"].fillna("").tolist()).sum() >= 2:
        L, mask = lyrics_features(tracks["lyrics"].fillna("").tolist(), dim=32, seed=0)
    inputs = Inputs(
        audio=StandardScaler().fit_transform(fms["mfcc"].X),
        lyrics=L,
        lyrics_mask=mask,
        logmel=fms["logmel_full"].X,
        features="mfcc",
    )
    inputs.musicnn_logmel, inputs.musicnn_frontend = fms["musicnn_logmel"].X, fms["musicnn_frontend"].X
    inputs.alternatives = {
        "musicnn": replace(inputs, audio=StandardScaler().fit_transform(fms["musicnn"].X), features="musicnn")
    }
    labels = {c: tracks[c].astype(str).to_numpy() for c in [primary, *extra]}
    return {"inputs": inputs, "labels": labels, "representations": _family_representations()}


EXTRA_PATCH_SETS = ["musicnn_logmel", "musicnn_frontend"]  # the transfer ConvVAE's inputs


def emotify_set():
    root = SHARED / "emotify_dev"
    if not (root / "clips.csv").exists():
        return None
    from musiclust.datasets import load_dataset

    ds = load_dataset("folder", path=str(root), metadata=str(root / "clips.csv"), label_columns=["genre"])
    return audio_set(ds, "genre", [])


def hybrid_lyrics_set():
    path = SHARED / "hybrid_songs" / "songs.csv"
    if not path.exists():
        return None
    from musiclust.features.text import lyrics_features
    from musiclust.representations import Inputs

    df = pd.read_csv(path)
    L, _ = lyrics_features(df["lyrics"].fillna("").tolist(), dim=32, seed=0)
    return {
        "inputs": Inputs(audio=L, main="lyrics", features="lyrics"),
        "labels": {
            "language": df["language"].astype(str).to_numpy(),
            "genre_tag": df["genre_tag"].astype(str).to_numpy(),
        },
        "representations": ["raw", "pca", "ae", "vae", "beta_vae", "gmmvae", "idec", "dec"],
    }


def hybrid_set():
    root = SHARED / "hybrid_songs"
    if not (root / "songs.csv").exists():
        return None
    from musiclust.datasets import load_dataset

    ds = load_dataset("folder", path=str(root), metadata=str(root / "songs.csv"))
    return audio_set(ds, "genre_tag", ["language"])


def corpus_set():
    from musiclust.datasets import load_dataset

    ds = load_dataset("corpus", progress=False)
    return audio_set(ds, "style", ["language"])


def _msd_set(feature_set: str):
    path = SHARED / "msd"
    if not path.is_dir():
        return None
    from sklearn.preprocessing import StandardScaler

    from musiclust.datasets import load_dataset
    from musiclust.features import build_features
    from musiclust.representations import Inputs

    ds = load_dataset("msd", path=str(path), labels=str(path / "msd_tagtraum_cd1_subset.cls"))
    X = StandardScaler().fit_transform(build_features(ds, feature_set).X)
    return {
        "inputs": Inputs(audio=X, features=feature_set),
        # blank = unlabelled: clustered with the rest, left out of that label's scores
        "labels": {c: ds.tracks[c].astype(str).to_numpy() for c in ("genre", "decade", "artist_term")},
        "representations": ["raw", "pca", "ae", "vae", "beta_vae", "gmmvae", "idec", "dec"],
    }


def msd_set():
    """../shared/data/msd: 101 real MSD tracks, the Echo Nest summary with the song-level values (55-D)."""
    return _msd_set("msd")


def msd_timbre_set():
    """The same tracks on the segment timbre and chroma statistics alone (48-D): does the rest earn its place?"""
    return _msd_set("msd_timbre")


SETS = {
    "gtzan": gtzan_set,
    "emotify": emotify_set,
    "hybrid": hybrid_set,
    "hybrid_lyrics": hybrid_lyrics_set,
    "corpus": corpus_set,
    "msd": msd_set,
    "msd_timbre": msd_timbre_set,
}


def run_set(name: str, data: dict, seeds: list[int], only: list[str] | None = None) -> pd.DataFrame:
    from musiclust.clustering import cluster
    from musiclust.config import ExperimentConfig
    from musiclust.metrics import external_metrics
    from musiclust.representations import REPRESENTATIONS, input_name, missing_requirements, split_name

    config = ExperimentConfig()
    labels = data["labels"]
    primary = next(iter(labels))
    k_primary = len(set(labels[primary]) - {""})
    rows = []
    inputs = data["inputs"]
    for seed in seeds:
        for rep in data["representations"]:
            if only and rep not in only:
                continue
            reason = missing_requirements(rep, inputs)
            if reason:
                if seed == seeds[0]:
                    print(f"  {name}: {rep} skipped: {reason}")
                continue
            spec = REPRESENTATIONS[rep]
            base = split_name(rep)[0]
            model = {**config.model_params(base), "n_components": k_primary}
            rep_inputs = inputs.for_representation(rep)
            t = time.perf_counter()
            built = spec.build(rep_inputs, {"latent_dim": config.latent_dim, "model": model}, seed)
            fit_s = time.perf_counter() - t
            activity = getattr(built.model, "latent_activity_", None) if built.model is not None else None
            common = {
                "set": name,
                "seed": seed,
                "representation": rep,
                "input": input_name(rep, inputs.features),
                "fit_s": fit_s,
                "active_units": activity["active_units"] if activity else np.nan,
                "latent_units": activity["latent_dim"] if activity else np.nan,
            }
            idx = built.rows if built.rows is not None else np.arange(len(next(iter(labels.values()))))
            for clu in CLUSTERERS:
                for label, y in labels.items():
                    k = len(set(y) - {""})  # blank: unlabelled, left out of the scores
                    res = cluster(clu, built.Z, k, seed)
                    known = y[idx] != ""
                    m = external_metrics(y[idx][known], res.labels[known]) if res.n_clusters >= 2 else {"nmi": np.nan}
                    rows.append(
                        {
                            **common,
                            "clusterer": clu,
                            "label": label,
                            "k": k,
                            "nmi": m["nmi"],
                            "ari": m.get("ari"),
                            "acc": m.get("acc"),
                        }
                    )
            if base == "gmmvae":  # VaDE also clusters with its own mixture prior
                own = built.model.predict_clusters(rep_inputs.audio)
                known = labels[primary] != ""
                m = external_metrics(labels[primary][known], own[known])
                rows.append(
                    {
                        **common,
                        "clusterer": "own prior",
                        "label": primary,
                        "k": k_primary,
                        **{a: m[a] for a in ("nmi", "ari", "acc")},
                    }
                )
            print(f"  {name} seed {seed} {rep}: {fit_s:.1f} s", flush=True)
    return pd.DataFrame(rows)


def _is_family(rep: str) -> bool:
    from musiclust.representations import split_name

    return split_name(rep)[0] not in DIRECT


def _is_baseline(rep: str, baselines: tuple = BASELINES) -> bool:
    from musiclust.representations import split_name

    return split_name(rep)[0] in baselines


def paired(df: pd.DataFrame, label: str, input_: str | None = None, baselines: tuple = BASELINES) -> dict:
    """Best VAE-family vs best baseline (by mean NMI over seeds), with per-seed paired differences; ``input_``
    restricts both sides to representations computed from that input (``mfcc``, ``musicnn``); ``baselines``: the
    direct representations the family is compared against (raw and PCA, or raw alone: issue 16 asks for the best
    family latent on musicnn against "raw musicnn", and PCA of it is the stronger baseline, so both are reported)."""
    d = df[df["label"] == label]
    if input_ is not None:
        d = d[d["input"].str.split("+").str[0] == input_]
    means = d.groupby(["representation", "clusterer"])["nmi"].mean()
    family = means[[_is_family(r) for r, _ in means.index]]
    base = means[[_is_baseline(r, baselines) for r, _ in means.index]]
    if family.empty or base.empty:
        return {}
    (fr, fc), (br, bc) = family.idxmax(), base.idxmax()
    per_seed_f = d[(d["representation"] == fr) & (d["clusterer"] == fc)].set_index("seed")["nmi"]
    per_seed_b = d[(d["representation"] == br) & (d["clusterer"] == bc)].set_index("seed")["nmi"]
    diff = (per_seed_f - per_seed_b).dropna()
    return {
        "label": label,
        "input": input_ or "any",
        "baselines": "/".join(b if b == "raw" else b.upper() for b in baselines),
        "best_family": f"{fr} + {fc}",
        "family_nmi": [float(per_seed_f.mean()), float(per_seed_f.std(ddof=0))],
        "best_baseline": f"{br} + {bc}",
        "baseline_nmi": [float(per_seed_b.mean()), float(per_seed_b.std(ddof=0))],
        "paired_difference": [float(diff.mean()), float(diff.std(ddof=0))],
        "per_seed_difference": [round(float(x), 4) for x in diff],
        "seeds_family_better": int((diff > 0).sum()),
        "n_seeds": len(diff),
        "met": bool(diff.mean() >= 0),
    }


def collapse(df: pd.DataFrame, label: str) -> list[str]:
    """Active latent units per model (min over seeds) and the VAE's best NMI against the AE's, per input."""
    out = []
    d = df[df["label"] == label]
    for input_, part in d.groupby(d["input"].str.split("+").str[0]):
        units = part.dropna(subset=["active_units"]).groupby("representation")["active_units"].min()
        if units.empty:
            continue
        best = part.groupby(["representation", "clusterer"])["nmi"].mean().groupby(level=0).max()
        vae = [r for r in best.index if r.split("@")[0] == "vae"]
        ae = [r for r in best.index if r.split("@")[0] == "ae"]
        line = f"{input_}: active units (min over seeds) " + ", ".join(f"{r} {int(v)}" for r, v in units.items())
        if vae and ae:
            gap = best[vae[0]] - best[ae[0]]
            line += f"; best NMI vs {label}: VAE {best[vae[0]]:.3f}, AE {best[ae[0]]:.3f} (VAE - AE {gap:+.3f})"
        out.append(line)
    return out


def summarize(name: str, df: pd.DataFrame, labels: list[str], seeds: list[int]) -> dict:
    """The set's summary from its per-seed rows: paired comparisons (overall and per input; against raw and PCA, and
    against raw alone), active units, the issues' targets; printed as it goes."""
    agg = df.groupby(["label", "representation", "clusterer"], sort=False)["nmi"].agg(["mean", "std"])
    print(f"\n{name}: NMI mean ± std over {len(seeds)} seeds")
    for (label, rep, clu), r in agg.iterrows():
        print(f"  {label:<10} {rep:<22} {clu:<14} {r['mean']:.3f} ± {r['std']:.3f}")
    inputs = [None] + [i for i in ("mfcc", "musicnn") if (df["input"].str.split("+").str[0] == i).any()]
    comparisons = [
        paired(df, lab, input_, baselines) for baselines in (BASELINES, ("raw",)) for lab in labels for input_ in inputs
    ]
    out = {"seeds": seeds, "comparisons": [c for c in comparisons if c]}
    for c in out["comparisons"]:
        print(
            f"  {c['label']} [{c['input']}]: best VAE family {c['best_family']} {c['family_nmi'][0]:.3f} vs best "
            f"{c['baselines']} {c['best_baseline']} {c['baseline_nmi'][0]:.3f}: paired difference "
            f"{c['paired_difference'][0]:+.3f} ± {c['paired_difference'][1]:.3f} "
            f"({c['seeds_family_better']}/{c['n_seeds']} seeds better)"
        )
    out["collapse"] = [ln for lab in labels for ln in collapse(df, lab)]
    out["targets"] = targets(df, labels)
    out["issue_16"] = verdicts(name, df, out["comparisons"])
    for line in out["collapse"] + out["targets"] + out["issue_16"]:
        print("  " + line)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS), help="which real sets to measure")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="random seeds")
    ap.add_argument(
        "--representations", nargs="+", help="measure only these representations; their rows replace the old ones"
    )
    ap.add_argument(
        "--summarize",
        action="store_true",
        help="measure nothing: rebuild the summary of each set from its stored per-seed rows (quality_<set>.csv)",
    )
    args = ap.parse_args()
    (HERE / "results").mkdir(exist_ok=True)
    summary_path = HERE / "results" / "quality_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if not args.summarize:
        from musiclust.logs import import_tensorflow

        import_tensorflow()
    for name in args.sets:
        csv = HERE / "results" / f"quality_{name}.csv"
        if args.summarize:
            if not csv.exists():
                print(f"{name}: no stored rows ({csv.name}), skipped")
                continue
            df = pd.read_csv(csv, keep_default_na=False, na_values=[""])
            summary[name] = summarize(name, df, list(df["label"].unique()), sorted(df["seed"].unique().tolist()))
            summary_path.write_text(json.dumps(summary, indent=2))
            continue
        data = SETS[name]()
        if data is None:
            print(f"{name}: data not present, skipped")
            continue
        t = time.perf_counter()
        df = run_set(name, data, args.seeds, args.representations)
        if args.representations and csv.exists():
            old = pd.read_csv(csv)
            df = pd.concat([old[~old["representation"].isin(args.representations)], df], ignore_index=True)
        df.to_csv(csv, index=False)
        print(f"\n{name}: measured in {time.perf_counter() - t:.0f} s")
        summary[name] = summarize(name, df, list(data["labels"]), args.seeds)
        summary_path.write_text(json.dumps(summary, indent=2))
    return 0


# the inputs of representations that hear the audio (or read the feature table) and nothing else
AUDIO_ONLY_INPUTS = ("mfcc", "musicnn", "log-mel crops", "musicnn front end", "table")


def _nmi(df: pd.DataFrame, rep: str, label: str, clu: str = "kmeans") -> tuple[float, float] | None:
    """``(mean, std)`` over seeds of ``rep`` + ``clu`` against ``label``, or None where it was not measured."""
    s = df[(df["representation"] == rep) & (df["label"] == label) & (df["clusterer"] == clu)]["nmi"]
    return (float(s.mean()), float(s.std(ddof=0))) if len(s) else None


def _best(df: pd.DataFrame, reps, label: str) -> tuple[str, str, float, float] | None:
    """The (representation, clusterer) among ``reps`` with the highest mean NMI against ``label``: ``(rep, clusterer,
    mean, std)``, or None."""
    d = df[df["representation"].isin(list(reps)) & (df["label"] == label)]
    if d.empty:
        return None
    m = d.groupby(["representation", "clusterer"])["nmi"].agg(["mean", "std"])
    (r, c) = m["mean"].idxmax()
    return r, c, float(m.loc[(r, c), "mean"]), float(m.loc[(r, c), "std"])


def _audio_only(df: pd.DataFrame) -> list[str]:
    return sorted(df.loc[df["input"].isin(AUDIO_ONLY_INPUTS), "representation"].unique())


def targets(df: pd.DataFrame, labels: dict) -> list[str]:
    """The issues' model targets, as measured: mean ± std over seeds."""
    primary = next(iter(labels))
    out = []
    if r := _nmi(df, "raw@musicnn", primary):
        out.append(f"raw musicnn K-Means {primary} NMI {r[0]:.3f} ± {r[1]:.3f}")
    if b := _best(df, _audio_only(df), primary):
        out.append(f"best audio-only {primary}: {b[0]} + {b[1]} {b[2]:.3f} ± {b[3]:.3f}")
    for rep in ("multimodal", "multimodal@musicnn"):
        if "language" in labels and (m := _nmi(df, rep, "language")):
            g, k = _best(df, [rep], primary), _nmi(df, rep, primary)
            out.append(
                f"{rep}: language K-Means NMI {m[0]:.3f} ± {m[1]:.3f}; {primary} best {g[1]} {g[2]:.3f} ± {g[3]:.3f}, "
                f"K-Means {k[0]:.3f} ± {k[1]:.3f}"
            )
    if "language" in labels and (v := _nmi(df, "lyrics", "language")):
        out.append(f"lyrics alone: language K-Means NMI {v[0]:.3f} ± {v[1]:.3f}")
    for conv in ("convvae", "convvae_musicnn"):
        if c := _nmi(df, conv, primary):
            r, b = _nmi(df, "raw", primary), _best(df, [conv], primary)
            out.append(
                f"{conv} K-Means {primary} NMI {c[0]:.3f} ± {c[1]:.3f} (best clusterer {b[1]} {b[2]:.3f}) vs raw MFCC "
                f"K-Means {r[0]:.3f} ± {r[1]:.3f}"
            )
    return out


def verdicts(name: str, df: pd.DataFrame, comparisons: list[dict]) -> list[str]:
    """Issue 16's quality targets for this set (the thresholds are the issue's goals, not measurements), each with
    the measured value (mean over seeds) and whether it is met."""
    out = []

    def check(what, value, goal, detail=""):
        if value is not None:
            out.append(f"issue 16: {what} >= {goal:g}: {value:.3f}{detail} -> {'met' if value >= goal else 'NOT met'}")

    def check_best(what, reps, label, goal):
        if b := _best(df, reps, label):
            check(what, b[2], goal, f" ({b[0]} + {b[1]})")

    def conv_vs_raw(label):
        raw = _nmi(df, "raw", label)
        for conv in ("convvae", "convvae_musicnn"):
            if raw and (c := _nmi(df, conv, label)):
                check(
                    f"{conv} K-Means - raw MFCC K-Means ({label})", c[0] - raw[0], 0.0, f" ({c[0]:.3f} vs {raw[0]:.3f})"
                )

    if name == "emotify":
        if r := _nmi(df, "raw@musicnn", "genre"):
            check("raw musicnn K-Means genre", r[0], 0.45)
        for c in comparisons:
            if (c["label"], c["input"]) == ("genre", "musicnn"):
                check(
                    f"best VAE family on musicnn - best {c['baselines']} on musicnn, paired",
                    c["paired_difference"][0],
                    0.0,
                    f" ({c['best_family']} vs {c['best_baseline']}, {c['seeds_family_better']}/{c['n_seeds']} seeds)",
                )
        conv_vs_raw("genre")
    elif name == "hybrid":
        check_best("best audio-only genre_tag", _audio_only(df), "genre_tag", 0.17)
        check_best("multimodal@musicnn genre_tag (best clusterer)", ["multimodal@musicnn"], "genre_tag", 0.20)
        if m := _nmi(df, "multimodal@musicnn", "language"):
            check("multimodal@musicnn language K-Means", m[0], 0.93)
        conv_vs_raw("genre_tag")
    elif name == "corpus":
        check_best("best style", df["representation"].unique(), "style", 0.91)
    return out


if __name__ == "__main__":
    sys.exit(main())
