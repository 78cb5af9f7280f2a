"""Clustering quality of the toolkit's representations on three real sets, 5 seeds, against the raw-feature baseline.

    python benchmarks/bench_quality.py [--sets gtzan hybrid corpus] [--seeds 0 1 2 3 4]

The sets (read from ../shared/data when present; a missing set is skipped and said so):
  * ``gtzan``: Kaggle's GTZAN feature table (1000 clips, 10 genres); primary label ``genre`` (k=10).
  * ``hybrid``: ../shared/data/hybrid_songs, 200 real English/German song previews with their own lyrics; MFCC audio
    features, the lyrics, 3-s log-mel crops; primary label ``genre_tag`` (k=6), also ``language`` (k=2).
  * ``corpus``: the embedded corpus (294 scores rendered offline; music_data/corpus, built on first use); primary label
    ``style`` (k=6), also ``language``.

Every setting is fixed in advance from the toolkit's defaults (`ExperimentConfig`) and none is tuned on the labels:
latent 16, hidden (256, 128), Adam 1e-3, batch 32, at most 40 epochs with early stopping on a 10% validation split
(label-free) counted from the end of a 10-epoch KL warm-up, beta 4 for beta_vae, the ConvVAE's 16 epochs of 10 crops
per clip, IDEC's at most 30 epochs of DEC refinement with gamma 0.1 (DEC: the same without the reconstruction); the
GTZAN table's heavy-tailed ``*_var`` columns (and ``rms_mean``) are log-transformed (a label-free choice) and
``length`` is dropped. Each label is clustered
at its own number of classes -- the only use of the labels besides scoring -- and the VaDE prior (and DEC/IDEC) get the
primary label's k.

For each set: mean +- std over seeds of NMI/ARI/ACC for every representation x clusterer x label, then the paired
comparison the issue asks for: the best VAE-family (representation, clusterer) by mean NMI against the primary label
vs the best raw/PCA one, with the per-seed differences (same seeds), their mean +- std, and how many seeds favour the
VAE family. Writes benchmarks/results/quality_<set>.csv (per seed) and quality_summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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
        "inputs": Inputs(audio=X),
        "labels": {"genre": df["label"].to_numpy()},
        "representations": ["raw", "pca", "ae", "vae", "beta_vae", "gmmvae", "idec", "dec"],
    }


def audio_set(dataset, primary: str, extra: list[str]):
    from sklearn.preprocessing import StandardScaler

    from musiclust.config import ExperimentConfig
    from musiclust.features import build_features_many
    from musiclust.features.text import lyrics_features
    from musiclust.representations import Inputs

    fms = build_features_many(
        dataset, ["mfcc", "logmel_full"], n_jobs=-1, progress=False, cache_dir=str(HERE.parent / "music_data" / "cache")
    )
    tracks = fms["mfcc"].dataset.tracks
    L, mask = lyrics_features(tracks["lyrics"].fillna("").tolist(), dim=32, seed=0)
    inputs = Inputs(
        audio=StandardScaler().fit_transform(fms["mfcc"].X), lyrics=L, lyrics_mask=mask, logmel=fms["logmel_full"].X
    )
    labels = {c: tracks[c].astype(str).to_numpy() for c in [primary, *extra]}
    return {
        "inputs": inputs,
        "labels": labels,
        # the default study's representations, less the CVAE (its condition, language, is one of the labels scored
        # here), plus DEC and IDEC
        "representations": [r for r in ExperimentConfig().representations if r != "cvae"] + ["idec", "dec"],
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


SETS = {"gtzan": gtzan_set, "hybrid": hybrid_set, "corpus": corpus_set}


def run_set(name: str, data: dict, seeds: list[int]) -> pd.DataFrame:
    from musiclust.clustering import cluster
    from musiclust.config import ExperimentConfig
    from musiclust.metrics import external_metrics
    from musiclust.representations import REPRESENTATIONS

    config = ExperimentConfig()
    labels = data["labels"]
    primary = next(iter(labels))
    k_primary = len(set(labels[primary]))
    rows = []
    for seed in seeds:
        for rep in data["representations"]:
            spec = REPRESENTATIONS[rep]
            model = {**config.model_params(rep), "n_components": k_primary}
            t = time.perf_counter()
            built = spec.build(data["inputs"], {"latent_dim": config.latent_dim, "model": model}, seed)
            fit_s = time.perf_counter() - t
            idx = built.rows if built.rows is not None else np.arange(len(next(iter(labels.values()))))
            for clu in CLUSTERERS:
                for label, y in labels.items():
                    k = len(set(y))
                    res = cluster(clu, built.Z, k, seed)
                    m = external_metrics(y[idx], res.labels) if res.n_clusters >= 2 else {"nmi": np.nan}
                    rows.append(
                        {
                            "set": name,
                            "seed": seed,
                            "representation": rep,
                            "clusterer": clu,
                            "label": label,
                            "k": k,
                            "nmi": m["nmi"],
                            "ari": m.get("ari"),
                            "acc": m.get("acc"),
                            "fit_s": fit_s,
                        }
                    )
            if rep == "gmmvae":  # VaDE also clusters with its own mixture prior
                X = data["inputs"].audio
                own = built.model.predict_clusters(X)
                m = external_metrics(labels[primary], own)
                rows.append(
                    {
                        "set": name,
                        "seed": seed,
                        "representation": rep,
                        "clusterer": "own prior",
                        "label": primary,
                        "k": k_primary,
                        **{a: m[a] for a in ("nmi", "ari", "acc")},
                        "fit_s": fit_s,
                    }
                )
            print(f"  {name} seed {seed} {rep}: {fit_s:.1f} s", flush=True)
    return pd.DataFrame(rows)


def paired(df: pd.DataFrame, label: str) -> dict:
    """Best VAE-family vs best raw/PCA (by mean NMI over seeds), with per-seed paired differences."""
    d = df[df["label"] == label]
    means = d.groupby(["representation", "clusterer"])["nmi"].mean()
    family = means[[r not in DIRECT for r, _ in means.index]]
    base = means[[r in BASELINES for r, _ in means.index]]
    if family.empty or base.empty:
        return {}
    (fr, fc), (br, bc) = family.idxmax(), base.idxmax()
    per_seed_f = d[(d["representation"] == fr) & (d["clusterer"] == fc)].set_index("seed")["nmi"]
    per_seed_b = d[(d["representation"] == br) & (d["clusterer"] == bc)].set_index("seed")["nmi"]
    diff = (per_seed_f - per_seed_b).dropna()
    return {
        "label": label,
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS), help="which real sets to measure")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="random seeds")
    args = ap.parse_args()
    from musiclust.logs import import_tensorflow

    import_tensorflow()
    (HERE / "results").mkdir(exist_ok=True)
    summary_path = HERE / "results" / "quality_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name in args.sets:
        data = SETS[name]()
        if data is None:
            print(f"{name}: data not present, skipped")
            continue
        t = time.perf_counter()
        df = run_set(name, data, args.seeds)
        df.to_csv(HERE / "results" / f"quality_{name}.csv", index=False)
        agg = df.groupby(["label", "representation", "clusterer"], sort=False)["nmi"].agg(["mean", "std"])
        print(f"\n{name}: NMI mean ± std over {len(args.seeds)} seeds ({time.perf_counter() - t:.0f} s)")
        for (label, rep, clu), r in agg.iterrows():
            print(f"  {label:<10} {rep:<13} {clu:<14} {r['mean']:.3f} ± {r['std']:.3f}")
        summary[name] = {"seeds": args.seeds, "comparisons": [paired(df, lab) for lab in data["labels"]]}
        for c in summary[name]["comparisons"]:
            if c:
                print(
                    f"  {c['label']}: best VAE family {c['best_family']} {c['family_nmi'][0]:.3f} vs best raw/PCA "
                    f"{c['best_baseline']} {c['baseline_nmi'][0]:.3f}: paired difference "
                    f"{c['paired_difference'][0]:+.3f} ± {c['paired_difference'][1]:.3f} "
                    f"({c['seeds_family_better']}/{c['n_seeds']} seeds better)"
                )
        summary[name]["targets"] = targets(df, data["labels"])
        for line in summary[name]["targets"]:
            print("  " + line)
        summary_path.write_text(json.dumps(summary, indent=2))
    return 0


def targets(df: pd.DataFrame, labels: dict) -> list[str]:
    """The issue's model targets, as measured: K-Means rows, mean ± std over seeds."""

    def nmi(rep, label, clu="kmeans"):
        s = df[(df["representation"] == rep) & (df["label"] == label) & (df["clusterer"] == clu)]["nmi"]
        return (float(s.mean()), float(s.std(ddof=0))) if len(s) else None

    primary = next(iter(labels))
    out = []
    if "language" in labels and nmi("multimodal", "language"):
        m, v = nmi("multimodal", "language"), nmi("lyrics", "language")
        out.append(f"multimodal K-Means language NMI {m[0]:.3f} ± {m[1]:.3f} (target >= 0.90; lyrics alone {v[0]:.3f})")
        g, a = nmi("multimodal", primary), nmi("vae", primary)
        out.append(
            f"multimodal K-Means {primary} NMI {g[0]:.3f} ± {g[1]:.3f} vs audio-only VAE {a[0]:.3f} ± {a[1]:.3f}"
        )
    if nmi("convvae", primary):
        c, r = nmi("convvae", primary), nmi("raw", primary)
        best = df[(df["representation"] == "convvae") & (df["label"] == primary)].groupby("clusterer")["nmi"].mean()
        out.append(
            f"convvae K-Means {primary} NMI {c[0]:.3f} ± {c[1]:.3f} (best clusterer {best.idxmax()} "
            f"{best.max():.3f}) vs raw MFCC K-Means {r[0]:.3f} ± {r[1]:.3f}"
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
