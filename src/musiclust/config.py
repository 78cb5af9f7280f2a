"""Experiment configuration: dataclasses that round-trip to JSON; the resolved config is saved with every run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import MusiclustError

# The models (models.base.MODELS entries with conv=True) that train on 3-s crops, 10 per clip an epoch: named here so
# the config needs no Keras import; tests/test_models.py checks it against the registry.
CROP_MODELS = frozenset({"convvae", "convvae_musicnn"})


@dataclass
class DatasetConfig:
    """Which data to load. Options a source does not use are ignored (and logged)."""

    name: str = "corpus"
    path: str | None = None  # folder (corpus, gtzan, folder) or CSV/TSV file (table, lyrics)
    label_columns: list[str] | None = None  # label columns, first = primary (defaults depend on the source)
    id_column: str | None = None  # table: id column (default "filename" when present)
    metadata: str | None = None  # folder: a CSV/TSV of labels (and lyrics) joined to the audio files by a key
    key_column: str | None = None  # folder: the metadata column naming each row's audio file
    encoding: str | None = None  # tables: text encoding (default: UTF-8, UTF-8 with BOM or UTF-16, detected)
    feature_columns: list[str] | None = None  # table: use exactly these feature columns
    exclude_columns: list[str] | None = None  # table: never use these columns as features
    n_per_class: int | None = None  # corpus: pieces per style class (None: as built, or 50 for a new build)
    styles: list[str] | None = None  # corpus: subset of style classes
    labels: str | None = None  # msd: a label file keyed by track id (tagtraum .cls or CSV/TSV)
    lyrics_table: str | None = None  # a lyrics CSV paired with the audio by track id, file name or artist+title

    def loader_options(self) -> dict:
        """Every option but the source's name, as `datasets.load_dataset(name, **options)` takes them (it drops those
        a source does not use), so a new field here reaches the loaders without another list to keep in step."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


MFCC_STUDY = [
    "raw",
    "pca",
    "lyrics",
    "audio_lyrics",
    "ae",
    "vae",
    "beta_vae",
    "cvae",
    "convvae",
    "multimodal",
    "gmmvae",
    "dec",
    "idec",
]
MUSICNN_STUDY = [
    f"{name}@musicnn"
    for name in ("raw", "pca", "audio_lyrics", "ae", "vae", "beta_vae", "cvae", "multimodal", "gmmvae", "dec", "idec")
]
DEFAULT_REPRESENTATIONS = MFCC_STUDY + MUSICNN_STUDY


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,), "None": (type(None),)}


def _accepts(annotation: str, value) -> bool:
    """Whether ``value`` fits a field annotation such as ``list[int]``, ``float | None`` or ``int | str | None``."""
    for option in (a.strip() for a in annotation.split("|")):
        if option.startswith("list"):
            inner = option[5:-1] if option.endswith("]") else ""
            if isinstance(value, list) and all(_accepts(inner, v) for v in value) if inner else isinstance(value, list):
                return True
        elif option in _TYPES:
            if isinstance(value, bool) and option in ("int", "float"):
                continue  # true/false is not a number
            if isinstance(value, _TYPES[option]):
                return True
    return False


def _check_types(cls, data: dict, prefix: str = "") -> None:
    annotations = {f.name: str(f.type) for f in fields(cls)}
    for key, value in data.items():
        if key in annotations and not _accepts(annotations[key], value):
            raise MusiclustError(
                f"config key '{prefix}{key}' must be {annotations[key].replace('|', 'or')} (got {value!r})"
            )


@dataclass
class ExperimentConfig:
    """One study: dataset x features x representations x clusterers x seeds."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    features: str = "mfcc"  # audio feature set: mfcc, mfcc_delta, gtzan57 (logmel feeds the ConvVAE)
    cache_dir: str | None = "music_data/cache"  # feature and trained-model cache; None disables both
    retrain: bool = False  # train every model again even when the model cache holds it (the cache is refreshed)
    dask_scheduler: str | None = None  # e.g. tcp://host:8786: extract features on a Dask cluster
    lyrics_dim: int = 32  # TF-IDF -> SVD dimension of the lyrics features
    lyrics_model: str | None = None  # a local sentence-transformers model instead of TF-IDF (optional backend)
    modality_weights: dict = field(default_factory=lambda: {"audio": 1.0, "lyrics": 1.0})  # share of total variance
    # The VAE family on the MFCC statistics the original design asks for *and* on musicnn's pretrained embedding,
    # with the raw/PCA baselines of each, so every learned latent is compared with the classic baseline and with the
    # embedding it learned from. `<representation>@<feature set>` runs a representation on another feature set.
    representations: list[str] = field(default_factory=lambda: list(DEFAULT_REPRESENTATIONS))
    clusterers: list[str] = field(
        default_factory=lambda: [
            "kmeans",
            "agglomerative",
            "dbscan",
            "gmm",
            "hdbscan",
            "umap_kmeans",
            "umap_gmm",
            "umap_hdbscan",
        ]
    )
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    k: int | str | None = None  # None: each label's own number of classes; "auto": label-free criteria over k_range
    k_range: list[int] = field(default_factory=lambda: [2, 16])  # inclusive bounds searched by k="auto"
    latent_dim: int = 16  # PCA components / model latent size
    condition_column: str = "language"  # what the CVAE is conditioned on (never the evaluated label, or it says so)
    epochs: int = 40  # maximum epochs; early stopping on the validation loss usually ends training sooner
    conv_epochs: int = 16  # ConvVAE epochs: each sees 10 random 3-s crops of every clip (10x a dense epoch's data)
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 10  # early-stopping patience (epochs without validation improvement)
    beta: float | None = None  # KL weight; None: each model's own (1, or 4 for beta_vae)
    kl_warmup_epochs: int = 10
    hidden: list[int] = field(default_factory=lambda: [256, 128])
    quick: bool = False  # a small, fast smoke run (see cli.QUICK)
    # cluster cards and playlists beyond the best method of each label: [representation, clusterer] or [..., k]
    cards: list[list] = field(default_factory=list)
    report: bool = True  # write report.md / report.tex (and a PDF when a LaTeX engine is installed)
    output_dir: str = "results"
    run_name: str | None = None  # prefix of the run folder; default: dataset name
    n_jobs: int = -1
    plots: bool = True
    plot_max_points: int = 3000  # t-SNE/UMAP on a subsample above this size

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> ExperimentConfig:
        """A config from a mapping (a parsed JSON/YAML file); one-line errors for a wrong shape or type."""
        if not isinstance(data, dict):
            raise MusiclustError(
                f"a config must be a mapping of keys to values (got a {type(data).__name__}); e.g. "
                f"{{'seeds': [0, 1, 2], 'dataset': {{'name': 'folder', 'path': 'songs'}}}}"
            )
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise MusiclustError(f"unknown config key(s) {unknown}; known keys: {sorted(known)}")
        ds = data.pop("dataset", {}) or {}
        if isinstance(ds, str):  # "dataset: folder" names the source
            ds = {"name": ds}
        if not isinstance(ds, dict):
            raise MusiclustError(f"config key 'dataset' must be a name or a mapping (got {ds!r})")
        ds_known = {f.name for f in fields(DatasetConfig)}
        bad = sorted(set(ds) - ds_known)
        if bad:
            raise MusiclustError(f"unknown dataset config key(s) {bad}; known keys: {sorted(ds_known)}")
        _check_types(cls, data)
        _check_types(DatasetConfig, ds, "dataset.")
        return cls(dataset=DatasetConfig(**ds), **data)

    def model_params(self, name: str | None = None) -> dict:
        """Keyword arguments for `models.LatentModel` ``name``, from this config.

        Both ConvVAEs (from scratch and on musicnn's front end: every model whose registry entry is convolutional)
        train on 10 crops per clip per epoch, so they get ``conv_epochs`` epochs of batches of 64 crops and a KL
        warm-up of a third of them.
        """
        params = {
            "latent_dim": self.latent_dim,
            "hidden": tuple(self.hidden),
            "beta": self.beta,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "patience": self.patience,
            "kl_warmup_epochs": self.kl_warmup_epochs,
        }
        if name in CROP_MODELS:
            params.update(
                epochs=self.conv_epochs,
                batch_size=64,
                kl_warmup_epochs=min(self.kl_warmup_epochs, max(1, self.conv_epochs // 3)),
            )
        return params

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentConfig:
        path = Path(path)
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise MusiclustError(f"config file {path} {what}: pass a JSON or YAML file")
        text = path.read_text()
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            else:
                data = json.loads(text)
        except Exception as exc:
            raise MusiclustError(f"cannot parse config {path}: {str(exc).splitlines()[0]}") from None
        if isinstance(data, dict) and "run_id" in data and isinstance(data.get("config"), dict):
            # a run's own config.json: its record (timings, versions, ...) holds the config it ran under "config",
            # so `--config results/<run>/config.json` repeats that run
            data = data["config"]
        return cls.from_dict(data)
