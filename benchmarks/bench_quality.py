"""Clustering quality of the model family on real GTZAN features (../shared/data/gtzan/features_30_sec.csv).

    python benchmarks/bench_quality.py [--seeds 0 1 2 3 4] [--models ae vae beta_vae gmmvae]

k = 10 (the number of genres, the only use of the labels besides scoring). Every choice below is fixed in advance and
none is tuned on the genre labels:
  * preprocessing: log of the heavy-tailed ``*_var`` columns (and of ``rms_mean``), then standardization; ``length``
    (a constant clip length) is dropped;
  * models: latent 10, hidden (256, 128), Adam 1e-3, batch 64, at most 300 epochs, early stopping on the validation
    loss (10% held out; label-free) from the end of the KL warm-up (10 epochs), beta 4 for Beta-VAE, VaDE pretraining 50 epochs;
  * clusterers: K-Means (n_init 10) and a diagonal GMM on the latent means; gmmvae also clusters with its own prior.
Reports mean +- std over seeds of NMI, ARI and Hungarian ACC; writes benchmarks/results/quality.csv and prints it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from musiclust.metrics import external_metrics  # noqa: E402
from musiclust.models import LatentModel  # noqa: E402

HERE = Path(__file__).resolve().parent
K = 10


def load(path: Path):
    df = pd.read_csv(path)
    y = df["label"].to_numpy()
    X = df.drop(columns=["filename", "label", "length"])
    heavy = [c for c in X.columns if c.endswith("_var")] + ["rms_mean"]
    for c in heavy:
        X[c] = np.log(X[c] + 1e-8)  # fixed in advance: the variances span several orders of magnitude
    return StandardScaler().fit_transform(X.to_numpy(float)), y


def cluster(Z, method, seed):
    if method == "kmeans":
        return KMeans(K, n_init=10, random_state=seed).fit_predict(Z)
    return GaussianMixture(K, covariance_type="diag", random_state=seed, n_init=3).fit(Z).predict(Z)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "gtzan" / "features_30_sec.csv"),
                    help="the GTZAN features table")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="random seeds")
    ap.add_argument("--models", nargs="+", default=["ae", "vae", "beta_vae", "gmmvae"], help="models to train")
    args = ap.parse_args()
    if not Path(args.data).exists():
        print(f"{args.data} not found: nothing to measure")
        return 0
    X, y = load(Path(args.data))
    rows = []
    for seed in args.seeds:
        reps = {"raw (standardized)": X, "pca": PCA(K, random_state=seed).fit_transform(X)}
        for name in args.models:
            t = time.perf_counter()
            m = LatentModel(name, latent_dim=K, hidden=(256, 128), epochs=300, batch_size=64, learning_rate=1e-3,
                            validation_split=0.1, patience=20, kl_warmup_epochs=10, n_components=K,
                            pretrain_epochs=50, seed=seed).fit(X)
            reps[name] = m.encode(X)
            if name == "gmmvae":
                res = external_metrics(y, m.predict_clusters(X))
                rows.append({"representation": name, "clusterer": "own mixture prior", "seed": seed, **res,
                             "epochs": len(m.history_["loss"]), "fit_s": time.perf_counter() - t})
            print(f"seed {seed} {name}: {len(m.history_['loss'])} epochs, {time.perf_counter() - t:.0f} s",
                  flush=True)
        for rep, Z in reps.items():
            for method in ("kmeans", "gmm"):
                rows.append({"representation": rep, "clusterer": method, "seed": seed,
                             **external_metrics(y, cluster(Z, method, seed))})
    df = pd.DataFrame(rows)
    (HERE / "results").mkdir(exist_ok=True)
    df.to_csv(HERE / "results" / "quality_per_seed.csv", index=False)
    agg = df.groupby(["representation", "clusterer"], sort=False)[["nmi", "ari", "acc"]].agg(["mean", "std"])
    table = pd.DataFrame({m: [f"{a:.3f} ± {b:.3f}" for a, b in zip(agg[(m, "mean")], agg[(m, "std")])]
                          for m in ("nmi", "ari", "acc")}, index=agg.index)
    table.to_csv(HERE / "results" / "quality.csv")
    print(f"\nGTZAN features_30_sec.csv, k={K}, {len(args.seeds)} seeds (mean ± std)\n")
    print(table.to_string())
    best = agg[("nmi", "mean")].drop(index=[i for i in agg.index if i[0] in ("raw (standardized)", "pca")])
    print(f"\nbest VAE-family method by mean NMI: {best.idxmax()} NMI {best.max():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
