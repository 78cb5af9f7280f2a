"""Command-line entry points (the top-level scripts only call these)."""

from __future__ import annotations

import argparse
import logging
import sys

from .errors import MusiclustError


def _quiet_libraries() -> None:
    from .logs import quiet_tensorflow

    quiet_tensorflow()
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="umap")
    # loky notes when it recycles an idle worker between the training jobs; nothing is lost
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def experiment_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_experiments.py",
        description="Cluster a music collection with several representations and clusterers, and write metrics, "
        "figures and a report to a new folder under results/.",
    )
    p.add_argument("--config", help="JSON or YAML config file; command-line flags override its values")
    p.add_argument(
        "--dataset",
        help="dataset source: corpus (default, embedded), folder (your own audio folder), "
        "gtzan, table (a features CSV), lyrics (a lyrics table without audio), "
        "jamendolyrics, msd (Million Song Dataset .h5 files: Echo Nest analysis, no audio)",
    )
    p.add_argument(
        "--data-path",
        help="dataset location: a folder (corpus, gtzan, folder, msd) or a CSV/TSV file (table, lyrics)",
    )
    p.add_argument(
        "--labels",
        help="msd: a label file keyed by track id (tagtraum .cls 'track_id<TAB>genre', or a CSV/TSV with track_id)",
    )
    p.add_argument(
        "--metadata", help="folder: a CSV/TSV of labels (and lyrics) joined to the audio files by a key column"
    )
    p.add_argument(
        "--key-column",
        help="folder: the metadata column naming each row's audio file (default: the "
        "first of audio_file, path, file, filename, track_id)",
    )
    p.add_argument(
        "--label-column",
        action="append",
        dest="label_columns",
        help="a label column to judge the clusters against (repeat for several; the first is the primary "
        "label; default: genre/genre_tag/label/style and language where present)",
    )
    p.add_argument(
        "--encoding",
        help="text encoding of the tables (default: UTF-8, UTF-8 with BOM or UTF-16, detected); e.g. latin-1",
    )
    p.add_argument("--id-column", help="table datasets: the track id column (default: filename when present)")
    p.add_argument("--feature-columns", nargs="+", help="table: use exactly these columns as features")
    p.add_argument("--exclude-columns", nargs="+", help="table: never use these columns as features")
    p.add_argument("--n-per-class", type=int, help="corpus: pieces per style class (default 50)")
    p.add_argument("--styles", nargs="+", help="corpus: only these style classes")
    p.add_argument(
        "--lyrics-table",
        help="a lyrics CSV to pair with the audio by track id, file name or "
        "artist+title (e.g. music_data/lyrics/<source>/lyrics.csv)",
    )
    p.add_argument(
        "--features",
        help="audio feature set: mfcc (default; 20 MFCC mean+std, 40-D), mfcc_delta (80-D), "
        "gtzan57 (the Kaggle GTZAN set), musicnn (MSD_musicnn's 200-D penultimate layer, mean over 3-s patches), "
        "musicnn_mtt (the MagnaTagATune model), or several joined by '+' (mfcc+musicnn: each standardized, side by "
        "side). Representations named <model>@<set> (e.g. vae@musicnn) run on another set in the same run",
    )
    p.add_argument(
        "--lyrics-model",
        help="lyrics features from this local sentence-transformers model (folder or "
        "cached name) instead of TF-IDF; needs pip install sentence-transformers",
    )
    p.add_argument("--cache-dir", help="feature cache folder (default music_data/cache)")
    p.add_argument(
        "--no-cache", action="store_true", help="recompute every feature and train every model; read and write no cache"
    )
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train every model again even when the cache holds one trained on the same inputs, settings, seed and "
        "code (by default such a model is reused: training is deterministic, so it is the same model)",
    )
    p.add_argument("--dask-scheduler", help="extract features on a Dask cluster at this address (tcp://host:8786)")
    p.add_argument(
        "--models",
        "--representations",
        nargs="+",
        dest="representations",
        help="representations to compare (default: all: raw pca lyrics audio_lyrics ae vae beta_vae cvae "
        "convvae multimodal gmmvae; those the data cannot support are skipped with the reason)",
    )
    p.add_argument(
        "--clusterers",
        nargs="+",
        help="clusterers (default: all: kmeans agglomerative dbscan gmm hdbscan umap_kmeans umap_gmm umap_hdbscan)",
    )
    p.add_argument("--seeds", nargs="+", type=int, help="random seeds (default: 0 1 2)")
    p.add_argument(
        "--k",
        type=_k_value,
        help="one number of clusters for every label, or 'auto' to choose it from label-free criteria "
        "(default: each label is judged at its own number of classes)",
    )
    p.add_argument("--latent-dim", type=int, help="latent size for PCA and models (default 16)")
    p.add_argument("--epochs", type=int, help="maximum training epochs per model (default 40; early stopping)")
    p.add_argument("--batch-size", type=int, help="training batch size (default 32)")
    p.add_argument("--beta", type=float, help="KL weight for every VAE (default: 1, and 4 for beta_vae)")
    p.add_argument("--condition-column", help="column the CVAE is conditioned on (default language)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run: one seed, 15 epochs (ConvVAE 4), 12 pieces per style of the default corpus",
    )
    p.add_argument(
        "--report-only",
        metavar="RUN_DIR",
        help="rebuild the cluster cards, playlists, explorer and report of a finished run folder and exit",
    )
    p.add_argument(
        "--cards",
        nargs="+",
        action="append",
        metavar="REP CLUSTERER [K]",
        help="cluster cards and playlists also for this representation and clusterer (at the primary label's k, or "
        "K); repeatable; the best method of each label always has them",
    )
    p.add_argument("--output-dir", help="where run folders are created (default results/)")
    p.add_argument("--run-name", help="prefix of the run folder name (default: the dataset name)")
    p.add_argument("--n-jobs", type=int, help="parallel processes for corpus building and features (-1: all cores)")
    p.add_argument("--no-plots", action="store_true", help="skip the t-SNE/UMAP figures")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    return p


def _k_value(text: str):
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes a number or 'auto', not {text!r}") from None


# What --quick changes (values given explicitly on the command line still win).
QUICK = {"seeds": [0], "epochs": 15, "conv_epochs": 4, "patience": 5, "n_per_class": 12}


def _card_entry(values: list[str]) -> list:
    """``--cards REP CLUSTERER [K]`` -> ``[rep, clusterer]`` or ``[rep, clusterer, k]``."""
    if len(values) not in (2, 3):
        raise MusiclustError(f"--cards takes a representation, a clusterer and optionally k (got {' '.join(values)})")
    if len(values) == 3:
        try:
            return [values[0], values[1], int(values[2])]
        except ValueError:
            raise MusiclustError(f"--cards: k must be a whole number (got {values[2]!r})") from None
    return list(values)


def config_from_args(args: argparse.Namespace):
    from .config import ExperimentConfig

    config = ExperimentConfig.from_file(args.config) if args.config else ExperimentConfig()
    ds = config.dataset
    if args.dataset is not None and args.dataset != ds.name:
        ds.name = args.dataset
        ds.path = None  # a path from the config belongs to the config's dataset
    for attr in (
        "label_columns",
        "id_column",
        "n_per_class",
        "styles",
        "lyrics_table",
        "labels",
        "metadata",
        "key_column",
        "encoding",
        "feature_columns",
        "exclude_columns",
    ):
        if getattr(args, attr) is not None:
            setattr(ds, attr, getattr(args, attr))
    if args.data_path is not None:
        ds.path = args.data_path
    if args.no_cache:
        config.cache_dir = None
    if args.retrain:
        config.retrain = True
    if args.quick:
        config.quick = True
        config.seeds, config.epochs, config.patience = QUICK["seeds"], QUICK["epochs"], QUICK["patience"]
        config.conv_epochs = QUICK["conv_epochs"]
        # only the default corpus shrinks; a corpus the user points at keeps its own size
        if ds.name == "corpus" and args.n_per_class is None and ds.n_per_class is None and ds.path is None:
            ds.n_per_class = QUICK["n_per_class"]
    for attr in (
        "features",
        "lyrics_model",
        "cache_dir",
        "dask_scheduler",
        "representations",
        "clusterers",
        "seeds",
        "k",
        "latent_dim",
        "output_dir",
        "run_name",
        "n_jobs",
        "epochs",
        "batch_size",
        "beta",
        "condition_column",
    ):
        if getattr(args, attr) is not None:
            setattr(config, attr, getattr(args, attr))
    if args.no_plots:
        config.plots = False
    if args.cards:
        config.cards = [_card_entry(c) for c in args.cards]
    return config


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's kill, ``kill PID``): handled as Ctrl-C is, so worker processes end with this one."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _stop_workers() -> None:
    """End joblib's worker processes now (model training and feature extraction run in them)."""
    try:
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)
    except Exception:  # noqa: BLE001 - stopping is best effort; the process is ending anyway
        pass


def _os_error_line(exc: OSError) -> str:
    """One line for a failed write or read: what, where, and that the run folder is unfinished."""
    where = f" ({exc.filename})" if exc.filename else ""
    return f"error: {exc.strerror or exc}{where}; every file written so far is whole (none is half-written)"


def run_experiments_main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    args = experiment_parser().parse_args(argv)
    _quiet_libraries()
    _setup_logging(args.verbose)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run_experiments(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run_experiments(args) -> int:
    try:
        if args.report_only:
            from .experiment import rebuild_outputs

            paths = rebuild_outputs(args.report_only, [_card_entry(c) for c in args.cards or []])
            print("\n".join(str(p) for p in paths.values()))
            return 0
        from .experiment import format_summary, run

        config = config_from_args(args)
        run_dir = run(config, progress=not args.no_progress)
    except MusiclustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        _stop_workers()
        print("interrupted: the unfinished run folder is left as it is", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # a full disk, a folder that became unwritable
        _stop_workers()
        print(_os_error_line(exc), file=sys.stderr)
        return 2
    print(format_summary(run_dir))
    print(f"\nresults written to {run_dir}")
    return 0


def audio_data_loader_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="audio_data_loader.py", description="Build (if needed) and inspect a dataset, without running experiments."
    )
    p.add_argument("dataset", help="dataset source: corpus, folder, gtzan, table, lyrics, jamendolyrics, msd")
    p.add_argument("--data-path", help="dataset location (folder or CSV); default music_data/<dataset>")
    p.add_argument("--labels", help="msd: a label file keyed by track id (.cls or CSV/TSV with track_id)")
    p.add_argument("--metadata", help="folder: a CSV/TSV of labels (and lyrics) joined to the audio by a key column")
    p.add_argument("--key-column", help="folder: the metadata column naming each row's audio file")
    p.add_argument("--encoding", help="text encoding of the tables (default: detected UTF-8/UTF-16)")
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

        from .config import DatasetConfig
        from .datasets import corpus, load_dataset
        from .datasets.base import pairing_line
        from .datasets.language import ensure_language

        t0 = time.perf_counter()
        source = DatasetConfig(
            name=args.dataset,
            path=args.data_path,
            n_per_class=args.n_per_class,
            styles=args.styles,
            label_columns=args.label_columns,
            metadata=args.metadata,
            key_column=args.key_column,
            encoding=args.encoding,
            labels=args.labels,
        )
        ds = load_dataset(source.name, **source.loader_options(), n_jobs=args.n_jobs)
        ds = ensure_language(ds)
        elapsed = time.perf_counter() - t0
        print(ds.summary() + f"  ({elapsed:.1f} s)")
        print(ds.description)
        if "pairing" in ds.info:
            print(pairing_line(ds.info["pairing"]))
        for col in ds.label_columns:
            labelled = ds.labelled(col)
            counts = ds.tracks[col][labelled].value_counts().sort_index()
            print(f"\n{col}:\n" + "\n".join(f"  {k:<24} {v}" for k, v in counts.items()))
            if (~labelled).any():
                print(f"  {'(blank or unknown)':<24} {int((~labelled).sum())}  -- left out of the {col} metrics")
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


def download_gtzan_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="download_gtzan.py",
        description="Fetch the GTZAN genre collection into music_data/gtzan/ (checksum-"
        "verified, resumable, idempotent), then report missing/unreadable clips.",
    )
    p.add_argument("--dest", help="target folder (default music_data/gtzan)")
    p.add_argument(
        "--mirror",
        action="append",
        dest="mirrors",
        help="another URL of genres.tar.gz, tried before the original address (repeatable)",
    )
    p.add_argument(
        "--from-archive",
        help="install from an archive you already have: genres.tar.gz or Kaggle's "
        "zip (Data/genres_original/..., features_30_sec.csv)",
    )
    p.add_argument(
        "--no-default-mirror", action="store_true", help="use only the --mirror addresses, not the original one"
    )
    p.add_argument("--force", action="store_true", help="download and extract again even if already installed")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    args = p.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        from .datasets import gtzan

        _check_dest(args.dest)
        root = gtzan.download(
            args.dest,
            mirrors=args.mirrors,
            force=args.force,
            from_archive=args.from_archive,
            progress=not args.no_progress,
            default_mirrors=not args.no_default_mirror,
        )
        missing, invalid = gtzan.validate(root)
    except MusiclustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(_os_error_line(exc), file=sys.stderr)
        return 2
    print(
        f"GTZAN in {root}: {1000 - len(missing) - len(invalid)} readable clips, {len(missing)} missing, "
        f"{len(invalid)} unreadable"
    )
    for name in invalid:
        print(f"unreadable: {name}")
    if missing:
        print("missing: " + ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else ""))
    return 0


def _check_dest(dest: str | None) -> None:
    """``--dest`` must be a folder (or not exist yet): one line, before anything is downloaded."""
    from pathlib import Path

    if dest is not None and Path(dest).exists() and not Path(dest).is_dir():
        raise MusiclustError(f"--dest {dest} is a file, not a folder: pass a folder to install into")


def download_lyrics_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="download_lyrics.py",
        description="Fetch a lyrics source into music_data/lyrics/<source>/lyrics.csv "
        "(columns track_id, title, artist, lyrics, language, genre).",
    )
    p.add_argument(
        "--source",
        required=True,
        choices=["jamendolyrics", "url", "kaggle"],
        help="jamendolyrics (79 CC songs with audio, 4 languages), url (any CSV or zip of lyrics), or "
        "kaggle (a Kaggle dataset, needs credentials)",
    )
    p.add_argument("--url", help="url: the CSV or zip address (jamendolyrics: another archive address)")
    p.add_argument("--sha256", help="url: the file's expected sha256 (required); jamendolyrics: optional")
    p.add_argument("--dataset", help="kaggle: OWNER/NAME of the dataset")
    p.add_argument("--dest", help="target folder (default music_data/lyrics)")
    p.add_argument("--force", action="store_true", help="fetch again even if the table exists")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    args = p.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        import pandas as pd

        from .datasets import lyrics

        _check_dest(args.dest)
        out = lyrics.download(
            args.source,
            args.dest,
            url=args.url,
            sha256=args.sha256,
            dataset=args.dataset,
            force=args.force,
            progress=not args.no_progress,
        )
        table = pd.read_csv(out, keep_default_na=False)
    except MusiclustError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(_os_error_line(exc), file=sys.stderr)
        return 2
    langs = table["language"].value_counts().to_dict()
    print(f"{len(table)} lyric rows in {out}; languages: {langs}")
    return 0
