"""Command-line entry points (the top-level scripts only call these)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .errors import MusiclustError


def _quiet_libraries() -> None:
    # TensorFlow's C++ start-up chatter and oneDNN notices are noise for a user reading a results table.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="umap")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def experiment_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_experiments.py",
        description="Cluster a music collection with several representations and clusterers, and write metrics, "
                    "figures and a report to a new folder under results/.",
    )
    p.add_argument("--config", help="JSON or YAML config file; command-line flags override its values")
    p.add_argument("--dataset", help="dataset source: corpus (default, embedded), gtzan, table")
    p.add_argument("--data-path", help="dataset location: a folder (corpus, gtzan) or a CSV file (table)")
    p.add_argument("--label-column", action="append", dest="label_columns",
                   help="table datasets: a label column (repeat for several; the first is the primary label)")
    p.add_argument("--id-column", help="table datasets: the track id column (default: filename when present)")
    p.add_argument("--n-per-class", type=int, help="corpus: pieces per style class (default 50)")
    p.add_argument("--styles", nargs="+", help="corpus: only these style classes")
    p.add_argument("--features", help="audio feature set: mfcc (default; 20 MFCC mean+std, 40-D), mfcc_delta (80-D), "
                                      "gtzan57 (the Kaggle GTZAN set)")
    p.add_argument("--cache-dir", help="feature cache folder (default music_data/cache)")
    p.add_argument("--no-cache", action="store_true", help="recompute every feature, read and write no cache")
    p.add_argument("--dask-scheduler", help="extract features on a Dask cluster at this address (tcp://host:8786)")
    p.add_argument("--representations", nargs="+", help="representations to compare (default: raw pca)")
    p.add_argument("--clusterers", nargs="+", help="clusterers (default: kmeans agglomerative)")
    p.add_argument("--seeds", nargs="+", type=int, help="random seeds (default: 0 1 2)")
    p.add_argument("--k", type=int, help="number of clusters (default: number of classes of the primary label)")
    p.add_argument("--latent-dim", type=int, help="latent size for PCA and models (default 16)")
    p.add_argument("--output-dir", help="where run folders are created (default results/)")
    p.add_argument("--run-name", help="prefix of the run folder name (default: the dataset name)")
    p.add_argument("--n-jobs", type=int, help="parallel processes for corpus building and features (-1: all cores)")
    p.add_argument("--no-plots", action="store_true", help="skip the t-SNE/UMAP figures")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    return p


def config_from_args(args: argparse.Namespace):
    from .config import ExperimentConfig

    config = ExperimentConfig.from_file(args.config) if args.config else ExperimentConfig()
    ds = config.dataset
    if args.dataset is not None and args.dataset != ds.name:
        ds.name = args.dataset
        ds.path = None  # a path from the config belongs to the config's dataset
    for attr in ("label_columns", "id_column", "n_per_class", "styles"):
        if getattr(args, attr) is not None:
            setattr(ds, attr, getattr(args, attr))
    if args.data_path is not None:
        ds.path = args.data_path
    if args.no_cache:
        config.cache_dir = None
    for attr in ("features", "cache_dir", "dask_scheduler", "representations", "clusterers", "seeds", "k", "latent_dim", "output_dir", "run_name",
                 "n_jobs"):
        if getattr(args, attr) is not None:
            setattr(config, attr, getattr(args, attr))
    if args.no_plots:
        config.plots = False
    return config


def run_experiments_main(argv: list[str] | None = None) -> int:
    args = experiment_parser().parse_args(argv)
    _quiet_libraries()
    _setup_logging(args.verbose)
    try:
        from .experiment import format_summary, run

        config = config_from_args(args)
        run_dir = run(config, progress=not args.no_progress)
    except MusiclustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the unfinished run folder is left as it is", file=sys.stderr)
        return 130
    print(format_summary(run_dir))
    print(f"\nresults written to {run_dir}")
    return 0


def audio_data_loader_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="audio_data_loader.py",
                                description="Build (if needed) and inspect a dataset, without running experiments.")
    p.add_argument("dataset", help="dataset source: corpus, gtzan, table")
    p.add_argument("--data-path", help="dataset location (folder or CSV); default music_data/<dataset>")
    p.add_argument("--n-per-class", type=int, help="corpus: pieces per style class (default 50)")
    p.add_argument("--styles", nargs="+", help="corpus: only these style classes")
    p.add_argument("--label-column", action="append", dest="label_columns", help="table: label column(s)")
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel processes (-1: all cores)")
    p.add_argument("--validate", action="store_true", help="corpus: re-check every audio file against its sha256")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    args = p.parse_args(argv)
    _quiet_libraries()
    _setup_logging(args.verbose)
    try:
        import time

        from .datasets import corpus, load_dataset

        t0 = time.perf_counter()
        ds = load_dataset(args.dataset, path=args.data_path, n_per_class=args.n_per_class, styles=args.styles,
                          label_columns=args.label_columns, n_jobs=args.n_jobs)
        elapsed = time.perf_counter() - t0
        print(ds.summary() + f"  ({elapsed:.1f} s)")
        print(ds.description)
        for col in ds.label_columns:
            counts = ds.tracks[col].value_counts().sort_index()
            print(f"\n{col}:\n" + "\n".join(f"  {k:<24} {v}" for k, v in counts.items()))
        if "has_lyrics" in ds.tracks.columns:
            print(f"\ntracks with lyric text: {int(ds.tracks['has_lyrics'].sum())} of {len(ds)}")
        for item in ds.skipped:
            print(f"skipped: {item['item']}: {item['reason']}")
        if args.validate and args.dataset == "corpus":
            missing, invalid = corpus.validate(args.data_path or corpus.DEFAULT_ROOT)
            print(f"validation: {len(missing)} missing, {len(invalid)} invalid audio files")
            if missing or invalid:
                return 1
    except MusiclustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
