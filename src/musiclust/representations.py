"""Representations: the inputs of a run -> a latent matrix Z ``(n_rows, d)`` to cluster.

A representation is one entry in `REPRESENTATIONS`: what it needs (audio features, lyrics, log-mel patches, a
condition column), whether it depends on the seed, and a function building it. An entry whose needs the data cannot
meet is skipped by the runner with the reason returned by `missing_requirements`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.decomposition import PCA

from .features.text import fuse


@dataclass
class Inputs:
    """Everything a representation may use, aligned row by row with the run's tracks.

    ``audio``: standardized audio (or table) features ``(n, d)``; ``lyrics``/``lyrics_mask``: ``(n, d_l)``/``(n,)``;
    ``logmel``: patches ``(n, n_mels, n_frames)`` (may be memory-mapped); ``condition``: labels ``(n,)`` of
    ``condition_column`` for the conditional VAE.
    """

    audio: np.ndarray
    lyrics: np.ndarray | None = None
    lyrics_mask: np.ndarray | None = None
    logmel: np.ndarray | None = None
    # the transfer ConvVAE's inputs: musicnn's log-mel frames (n, 96, 1840) and its frozen front end's features,
    # one step per 4 frames (n, 561, 460); both may be memory-mapped
    musicnn_logmel: np.ndarray | None = None
    musicnn_frontend: np.ndarray | None = None
    condition: np.ndarray | None = None
    condition_column: str | None = None
    modality_weights: dict = field(default_factory=lambda: {"audio": 1.0, "lyrics": 1.0})
    main: str = "audio"  # what ``audio`` holds: audio (or table) features, or the lyrics of a lyrics table
    features: str = "mfcc"  # the name of the feature set in ``audio``
    # the same tracks with another audio feature set in ``audio`` (``{"musicnn": Inputs}``), for ``<rep>@<set>``
    alternatives: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)  # feature set -> why it could not be computed

    def for_representation(self, name: str) -> Inputs:
        """The inputs representation ``name`` runs on: these, or for ``<rep>@<set>`` the alternative holding ``set``."""
        _, features = split_name(name)
        if features is None or features == self.features:
            return self
        return self.alternatives[features]


@dataclass
class Representation:
    Z: np.ndarray  # (n_rows, d)
    rows: np.ndarray | None = None  # indices of the tracks Z covers (None: all)
    model: object | None = None  # the fitted LatentModel, for saving and figures
    note: str = ""


@dataclass(frozen=True)
class RepresentationSpec:
    name: str
    description: str
    build: Callable[[Inputs, dict, int], Representation]
    requires: tuple[str, ...] = ("audio",)
    seeded: bool = True


def _raw(inputs, params, seed):
    return Representation(np.asarray(inputs.audio, dtype=np.float64))


def _pca(inputs, params, seed):
    X = inputs.audio
    n_comp = max(1, min(params["latent_dim"], X.shape[0], X.shape[1]))
    return Representation(PCA(n_components=n_comp, random_state=seed).fit_transform(X))


def _lyrics(inputs, params, seed):
    rows = np.flatnonzero(inputs.lyrics_mask)
    return Representation(inputs.lyrics[rows], rows=rows, note=f"lyrics only: the {len(rows)} tracks with lyrics")


def _audio_lyrics(inputs, params, seed):
    F = fuse({"audio": inputs.audio, "lyrics": inputs.lyrics}, inputs.modality_weights)
    w = inputs.modality_weights
    return Representation(
        F,
        note=f"audio+lyrics, variance shares audio {w['audio']}: lyrics {w['lyrics']}; "
        f"tracks without lyrics have a neutral lyrics block",
    )


def _model(name):
    def build(inputs, params, seed):
        from .models import LatentModel

        model = LatentModel(name, seed=seed, **params["model"])
        kw = {}
        X = inputs.logmel if name == "convvae" else inputs.audio
        if name == "convvae_musicnn":
            X, kw["frontend"] = inputs.musicnn_logmel, inputs.musicnn_frontend
        if name == "cvae":
            kw["condition"] = inputs.condition
        if name == "multimodal":
            kw.update(lyrics=inputs.lyrics, lyrics_mask=inputs.lyrics_mask)
        model.fit(X, **kw)
        note = f"conditioned on '{inputs.condition_column}'" if name == "cvae" else ""
        if name == "multimodal":
            # Each expert's own latent, fused with the same explicit variance shares as audio_lyrics. The product of
            # experts alone mixes a clean language bit from the lyrics with the audio's own factors at the same
            # scale, so K-Means split it along whichever came first (language NMI 0.18 over 5 seeds on real
            # English/German songs, against 0.94 for the fused experts; benchmarks/bench_quality.py).
            experts = model.encode_experts(X, **kw)
            w = inputs.modality_weights
            return Representation(
                fuse(experts, w),
                model=model,
                note=f"audio and lyrics experts' latents fused, variance shares audio {w['audio']}: "
                f"lyrics {w['lyrics']}",
            )
        return Representation(model.encode(X, **kw), model=model, note=note)

    return build


INPUT_SEP = "@"
# Representations that can run on any audio feature vector: ``vae@musicnn`` is the VAE on musicnn embeddings. The
# others need something else (lyrics alone, log-mel crops).
ON_ANY_FEATURES = ("raw", "pca", "audio_lyrics", "ae", "vae", "beta_vae", "cvae", "multimodal", "gmmvae", "idec", "dec")


def split_name(name: str) -> tuple[str, str | None]:
    """``"vae@musicnn"`` -> ``("vae", "musicnn")``; ``"vae"`` -> ``("vae", None)`` (the run's main features)."""
    base, sep, features = name.partition(INPUT_SEP)
    return base, (features if sep else None)


def input_name(name: str, main_features: str) -> str:
    """What representation ``name`` clusters, in words for tables: ``mfcc``, ``musicnn``, ``musicnn+lyrics``,
    ``lyrics``, ``log-mel crops``."""
    base, features = split_name(name)
    features = features or main_features
    requires = REPRESENTATIONS[base].requires
    if "logmel" in requires:
        return "log-mel crops"
    if "musicnn_frames" in requires:
        return "musicnn front end"
    if "audio" not in requires:
        return "lyrics"
    return f"{features}+lyrics" if "lyrics" in requires and features != "lyrics" else features


class _Registry(dict):
    """The representation registry: its entries, and ``<entry>@<feature set>`` for the entries of `ON_ANY_FEATURES`
    on any audio feature vector set (the same spec, run on that set's inputs)."""

    def _derived(self, name: str) -> RepresentationSpec | None:
        from .features.audio import FEATURE_SETS, PATCH_SETS

        base, features = split_name(name)
        if features is None or base not in ON_ANY_FEATURES or dict.__contains__(self, name):
            return None
        if features not in FEATURE_SETS or features in PATCH_SETS:
            return None
        spec = dict.__getitem__(self, base)
        return replace(spec, name=name, description=f"{spec.description}; on {features} features")

    def __missing__(self, name):
        spec = self._derived(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or self._derived(name) is not None


REPRESENTATIONS: dict[str, RepresentationSpec] = _Registry(
    (s.name, s)
    for s in (
        RepresentationSpec("raw", "direct clustering of the standardized audio features", _raw, seeded=False),
        RepresentationSpec("pca", "PCA to the latent size", _pca, seeded=False),
        RepresentationSpec(
            "lyrics",
            "direct clustering of the lyrics features (tracks with lyrics)",
            _lyrics,
            ("lyrics",),
            seeded=False,
        ),
        RepresentationSpec(
            "audio_lyrics",
            "direct clustering of variance-balanced audio+lyrics",
            _audio_lyrics,
            ("audio", "lyrics"),
            seeded=False,
        ),
        RepresentationSpec("ae", "deterministic autoencoder", _model("ae")),
        RepresentationSpec("vae", "VAE (Kingma & Welling 2014)", _model("vae")),
        RepresentationSpec("beta_vae", "Beta-VAE, beta = 4 (Higgins et al. 2017)", _model("beta_vae")),
        RepresentationSpec("cvae", "conditional VAE (Sohn et al. 2015)", _model("cvae"), ("audio", "condition")),
        RepresentationSpec(
            "convvae",
            "convolutional VAE on 3-s log-mel crops with a latent vector per 93 ms; a track = the mean of its "
            "crops' step-averaged latents",
            _model("convvae"),
            ("logmel",),
        ),
        RepresentationSpec(
            "convvae_musicnn",
            "convolutional VAE whose encoder starts from musicnn's pretrained front end (frozen) on 3-s crops of "
            "musicnn's log-mel input, a latent vector per 64 ms, decoding the log-mel frames; a track = the mean "
            "of its crops' step-averaged latents",
            _model("convvae_musicnn"),
            ("musicnn_frames",),
        ),
        RepresentationSpec(
            "multimodal",
            "audio+lyrics VAE: product of experts trained with the sub-sampled ELBO and "
            "calibrated per-modality variances; each expert's latent, variance-balanced",
            _model("multimodal"),
            ("audio", "lyrics"),
        ),
        RepresentationSpec("gmmvae", "VAE with a Gaussian-mixture prior (VaDE)", _model("gmmvae")),
        # they cluster as they learn: models of their own k (the primary label's), which their rows say
        RepresentationSpec(
            "idec", "autoencoder refined by DEC's clustering loss (IDEC, Guo et al. 2017)", _model("idec")
        ),
        RepresentationSpec(
            "dec", "autoencoder encoder refined by DEC's clustering loss alone (DEC, Xie et al. 2016)", _model("dec")
        ),
    )
)

MODEL_REPRESENTATIONS = (
    "ae",
    "vae",
    "beta_vae",
    "cvae",
    "convvae",
    "convvae_musicnn",
    "multimodal",
    "gmmvae",
    "idec",
    "dec",
)


def is_model(name: str) -> bool:
    """Whether ``name`` (``vae``, ``vae@musicnn``, ...) is a trained model (as opposed to a direct representation)."""
    return split_name(name)[0] in MODEL_REPRESENTATIONS


def missing_requirements(name: str, inputs: Inputs) -> str | None:
    """Why representation ``name`` cannot run on these inputs, or None when it can."""
    _, features = split_name(name)
    if features is not None and features != inputs.features:
        if features in inputs.unavailable:
            return inputs.unavailable[features]
        if features not in inputs.alternatives:
            return f"no {features} features for this dataset (a features table or lyrics table has no audio)"
        inputs = inputs.alternatives[features]
    reasons = {
        "lyrics": "the dataset has no lyrics (fewer than 2 tracks with text)",
        "logmel": "no audio files to compute log-mel patches from (a features table has none)",
        "condition": "no condition column (default 'language') in the dataset, or it is the primary label",
        "musicnn_frames": inputs.unavailable.get(
            "musicnn_frames", "no audio files to run musicnn's front end on (a features table has none)"
        ),
    }
    if inputs.main == "lyrics":  # a lyrics table: raw/pca/dense models run on the lyrics; audio-only ones cannot
        reasons["lyrics"] = (
            "a lyrics table has no audio: its feature matrix already is the lyrics (see raw, pca and the dense models)"
        )
        reasons["logmel"] = "a lyrics table has no audio files to compute log-mel patches from"
    for need in REPRESENTATIONS[name].requires:
        value = {
            "audio": inputs.audio,
            "lyrics": inputs.lyrics,
            "logmel": inputs.logmel,
            "condition": inputs.condition,
            "musicnn_frames": inputs.musicnn_frontend,
        }[need]
        if value is None:
            return reasons.get(need, f"no {need} input")
    return None
