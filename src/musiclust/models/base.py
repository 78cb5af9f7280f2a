"""`LatentModel`: a scikit-learn-style wrapper around the `vae.VAE` family, and the model registry.

``LatentModel(name, ...).fit(X, ...)`` then ``encode`` (latent means), ``decode``, ``reconstruct``, ``save``/``load``.
Parameters are stored by ``__init__``; fitted attributes end in ``_`` (``history_``, ``model_``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MusiclustError

# Fitted state saved beside the Keras model (JSON).
STATE_ATTRS = (
    "condition_categories_",
    "lyrics_dim_",
    "lyrics_mean_",
    "lyrics_std_",
    "patch_mean_",
    "patch_std_",
    "frontend_mean_",
    "frontend_std_",
    "cluster_centers_",
)

# Log-mel stacks up to this size are trained from memory; larger ones stream from their memory map batch by batch.
IN_MEMORY_BYTES = 512 * 2**20
# Free nats for the Gaussian-prior VAEs (models.vae): the first nat of information in the latent costs no KL. On 200
# real songs' lyrics (32-D) the calibrated Beta-VAE still kept no unit above 0.01 nats on one seed of five without it.
FREE_NATS = 1.0
CONV_DOWNSAMPLING = 4  # frames per ConvVAE latent step: two stride-2 convolutions (networks.conv_encoder)


@dataclass(frozen=True)
class ModelSpec:
    """What distinguishes one family member: a few parameters, not a new training loop."""

    name: str
    description: str
    deterministic: bool = False
    beta: float = 1.0
    conditional: bool = False
    multimodal: bool = False
    mixture_prior: bool = False
    conv: bool = False
    likelihood: str = "unit"  # "calibrated": sigma-VAE decoder variances (Rybkin et al. 2021), see models.vae
    dec_refine: bool = False  # DEC/IDEC: after training, refine the latent with DEC's clustering loss (models.idec)
    dec_keeps_reconstruction: bool = True  # IDEC (True) keeps the decoder's loss; DEC (False) drops the decoder
    frontend: bool = False  # ConvVAE whose encoder reads musicnn's frozen front-end features (``frontend=`` input)


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("ae", "deterministic autoencoder (baseline)", deterministic=True),
        # Every stochastic model learns its decoder's variance (sigma-VAE, Rybkin et al. 2021). With a unit-variance
        # decoder the KL term wins on small or low-variance inputs and the posterior collapses: on 200 real songs'
        # lyrics (32-D, L2-normalized rows) the VAE kept 0 active latent units and Beta-VAE 0, language NMI 0.27-0.37
        # and 0.00-0.01 against 0.96-1.00 for the AE; calibrated, 12-16 and 3 active units and NMI 0.96-1.00.
        ModelSpec("vae", "VAE, beta = 1 (Kingma & Welling 2014), calibrated decoder", likelihood="calibrated"),
        ModelSpec(
            "beta_vae",
            "Beta-VAE, beta = 4 (Higgins et al. 2017), calibrated decoder",
            beta=4.0,
            likelihood="calibrated",
        ),
        ModelSpec(
            "cvae",
            "conditional VAE (Sohn et al. 2015), condition fed to encoder and decoder, calibrated decoder",
            conditional=True,
            likelihood="calibrated",
        ),
        ModelSpec(
            "convvae",
            "convolutional VAE on 3-s log-mel crops (128 bands x 128 frames) with a latent vector per 93 ms, "
            "calibrated decoder (Rybkin et al. 2021); a track is the mean of its crops' latents",
            conv=True,
            likelihood="calibrated",
        ),
        ModelSpec(
            "convvae_musicnn",
            "convolutional VAE whose encoder starts from musicnn's pretrained front end (frozen; Pons & Serra 2019): "
            "it encodes the front end's features of 3-s crops of musicnn's own log-mel input (16 kHz, 96 bands), one "
            "latent vector per 64 ms, and its decoder reconstructs those log-mel frames (calibrated decoder, Rybkin "
            "et al. 2021); a track is the mean of its crops' latents",
            conv=True,
            frontend=True,
            likelihood="calibrated",
        ),
        ModelSpec(
            "multimodal",
            "audio + lyrics VAE, product of experts with the sub-sampled ELBO (Wu & Goodman 2018) "
            "and calibrated per-modality variances (Rybkin et al. 2021)",
            multimodal=True,
            likelihood="calibrated",
        ),
        ModelSpec(
            "gmmvae",
            "VAE with a Gaussian-mixture prior (VaDE, Jiang et al. 2017), calibrated decoder",
            mixture_prior=True,
            likelihood="calibrated",
        ),
        ModelSpec(
            "dec",
            "autoencoder latent refined by DEC's clustering loss alone, decoder dropped (DEC, Xie et al. 2016)",
            deterministic=True,
            dec_refine=True,
            dec_keeps_reconstruction=False,
        ),
        ModelSpec(
            "idec",
            "autoencoder latent refined by DEC's clustering loss with its reconstruction kept (IDEC, Guo et al. 2017)",
            deterministic=True,
            dec_refine=True,
        ),
    )
}


def _set_determinism(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _check_matrix(X, name: str, width: int | None = None, ndim: int = 2) -> np.ndarray:
    X = np.asarray(X) if not isinstance(X, np.memmap) else X
    if X.ndim != ndim:
        raise MusiclustError(f"{name} must have {ndim} dimensions, got shape {X.shape}")
    if width is not None and X.shape[1:] != (width if isinstance(width, tuple) else (width,)):
        raise MusiclustError(f"{name} has shape {X.shape[1:]} per track; this model was built for {width}")
    if ndim == 2 and not np.isfinite(X).all():
        raise MusiclustError(f"{name} contains NaN or infinite values: clean or impute the features first")
    return X


class LatentModel:
    """A member of the autoencoder family with a uniform interface.

    Inputs: ``X`` audio features ``(n, d)`` (standardized) or log-mel patches ``(n, n_mels, n_frames)`` for
    ``convvae``; ``condition``: labels ``(n,)`` for ``cvae``; ``lyrics`` ``(n, d_l)`` and ``lyrics_mask`` ``(n,)``
    for ``multimodal``.
    """

    def __init__(
        self,
        name: str = "vae",
        latent_dim: int = 16,
        hidden: tuple[int, ...] = (256, 128),
        beta: float | None = None,
        epochs: int = 100,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        validation_split: float = 0.1,
        patience: int = 15,
        kl_warmup_epochs: int = 10,
        n_components: int = 10,
        pretrain_epochs: int = 30,
        crop_frames: int = 128,
        crops_per_track: int = 10,
        likelihood: str | None = None,
        seed: int = 0,
        verbose: int = 0,
    ):
        if name not in MODELS:
            raise MusiclustError(f"unknown model '{name}'; choose from {sorted(MODELS)}")
        self.name = name
        self.latent_dim = latent_dim
        self.hidden = tuple(hidden)
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_split = validation_split
        self.patience = patience
        self.kl_warmup_epochs = kl_warmup_epochs
        self.n_components = n_components
        self.pretrain_epochs = pretrain_epochs
        self.crop_frames = crop_frames
        self.crops_per_track = crops_per_track
        self.likelihood = likelihood  # None: the model's own ("calibrated" for convvae and multimodal, else "unit")
        self.seed = seed
        self.verbose = verbose

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.name]

    def get_params(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "name",
                "latent_dim",
                "hidden",
                "beta",
                "epochs",
                "batch_size",
                "learning_rate",
                "validation_split",
                "patience",
                "kl_warmup_epochs",
                "n_components",
                "pretrain_epochs",
                "crop_frames",
                "crops_per_track",
                "likelihood",
                "seed",
            )
        }

    # --- inputs -----------------------------------------------------------------------------------------------
    def _inputs(self, X, condition=None, lyrics=None, lyrics_mask=None, fitting=False, frontend=None) -> dict:
        spec = self.spec
        if spec.conv:  # whole clips or crops: the mel bands must match, any length of at least one crop
            X = _check_matrix(X, "X", None, ndim=3)
            if not fitting and (X.shape[1] != self.input_shape_[0] or X.shape[2] < self.crop_):
                raise MusiclustError(
                    f"X has shape {X.shape[1:]} per track; this model needs {self.input_shape_[0]} "
                    f"mel bands and at least {self.crop_} frames"
                )
        else:
            X = _check_matrix(X, "X", None if fitting else self.input_shape_, ndim=2)
        n = X.shape[0]
        # Patches stay as given (possibly a memory map larger than RAM); they are normalized batch by batch.
        inputs = {"audio": X if spec.conv else X.astype(np.float32)}
        if spec.frontend:
            if frontend is None:
                raise MusiclustError(f"model '{self.name}' needs musicnn's front-end sequences (frontend=)")
            frontend = _check_matrix(frontend, "frontend", None, ndim=3)
            if len(frontend) != n or frontend.shape[2] * CONV_DOWNSAMPLING != X.shape[2]:
                raise MusiclustError(
                    f"frontend has shape {frontend.shape}; it needs one sequence per track with a step per "
                    f"{CONV_DOWNSAMPLING} of X's {X.shape[2]} frames"
                )
            inputs["frontend"] = frontend
        if spec.conditional:
            if condition is None:
                raise MusiclustError(f"model '{self.name}' needs a condition column (e.g. language)")
            condition = np.asarray(condition).astype(str)
            if fitting:
                self.condition_categories_ = sorted(set(condition))
            index = {c: i for i, c in enumerate(self.condition_categories_)}
            onehot = np.zeros((n, len(index)), np.float32)
            for i, c in enumerate(condition):
                if c in index:  # an unseen category gets the all-zero condition
                    onehot[i, index[c]] = 1.0
            inputs["condition"] = onehot
        if spec.multimodal:
            if lyrics is None or lyrics_mask is None:
                raise MusiclustError("model 'multimodal' needs lyrics features and their mask")
            lyrics = _check_matrix(lyrics, "lyrics", None if fitting else self.lyrics_dim_)
            mask = np.asarray(lyrics_mask, dtype=bool)
            if fitting:
                # Standardize the lyrics block as a whole on the tracks that have lyrics: centred, and scaled so its
                # columns have unit variance on average, like the standardized audio. One scale for the block keeps
                # the SVD's order of importance (per-column scaling would lift 31 song-specific directions to the
                # level of the first, which carries the language).
                present = lyrics[mask] if mask.any() else lyrics
                self.lyrics_mean_ = present.mean(axis=0).tolist()
                self.lyrics_std_ = float(max(np.sqrt(np.mean(np.square(present - present.mean(axis=0)))), 1e-6))
            lyrics = (lyrics - np.asarray(self.lyrics_mean_)) / self.lyrics_std_
            inputs["lyrics"] = np.where(mask[:, None], lyrics, 0.0).astype(np.float32)
            inputs["lyrics_mask"] = mask.astype(np.float32)
            if len(inputs["lyrics"]) != n or len(inputs["lyrics_mask"]) != n:
                raise MusiclustError("audio, lyrics and lyrics mask must have one row per track")
        return inputs

    def _build(self, inputs: dict):
        from . import networks
        from .vae import VAE

        spec = self.spec
        cond_dim = inputs["condition"].shape[1] if "condition" in inputs else 0
        shape = tuple(inputs["audio"].shape[1:])
        encoder_inputs = None
        if spec.conv:
            shape = (shape[0], self.crop_)  # the network sees one crop; a track is the mean of its crops' latents
            if spec.frontend:
                side = (inputs["frontend"].shape[1], self.crop_ // CONV_DOWNSAMPLING)
                enc = {"audio": networks.sequence_encoder(side, self.latent_dim, name="audio_encoder")}
                encoder_inputs = {"audio": "frontend"}
            else:
                enc = {"audio": networks.conv_encoder(shape, self.latent_dim, cond_dim=cond_dim, name="audio_encoder")}
            dec = {"audio": networks.conv_decoder(shape, self.latent_dim, cond_dim=cond_dim, name="audio_decoder")}
        else:
            enc = {
                "audio": networks.dense_encoder(shape[0], self.latent_dim, self.hidden, cond_dim, name="audio_encoder")
            }
            dec = {
                "audio": networks.dense_decoder(
                    shape[0], self.latent_dim, self.hidden[::-1], cond_dim, name="audio_decoder"
                )
            }
        if spec.multimodal:
            d_l = inputs["lyrics"].shape[1]
            enc["lyrics"] = networks.dense_encoder(d_l, self.latent_dim, (64,), name="lyrics_encoder")
            dec["lyrics"] = networks.dense_decoder(d_l, self.latent_dim, (64,), name="lyrics_decoder")
        beta = self.beta if self.beta is not None else spec.beta
        return VAE(
            enc,
            dec,
            self.latent_dim * self.latent_steps_ if spec.conv else self.latent_dim,
            condition_dim=cond_dim,
            beta=beta,
            deterministic=spec.deterministic,
            n_components=self.n_components if spec.mixture_prior else 0,
            kl_warmup_epochs=0 if spec.deterministic else self.kl_warmup_epochs,
            seed=self.seed,
            likelihood=self.likelihood or spec.likelihood,
            subsampled_elbo=spec.multimodal,
            encoder_inputs=encoder_inputs,
            free_nats=0.0 if spec.deterministic or spec.mixture_prior else FREE_NATS,
            balance_modalities=spec.multimodal,
        )

    # --- training ---------------------------------------------------------------------------------------------
    def _train(self, inputs: dict, epochs: int, callbacks: list):
        """Fit ``model_`` on ``inputs``, on this process's compiled trainer of the same network (`trainers`: the
        training graph is traced once per network, not once per fit; the same weights either way)."""
        from .trainers import fit_with_trainer

        n = len(inputs["audio"])
        n_val = int(round(n * self.validation_split)) if self.validation_split else 0
        if self.spec.conv:
            from .data import CropBatches, valid_frames

            clips = inputs["audio"]
            if clips.nbytes <= IN_MEMORY_BYTES:  # small enough to hold: no memory-map reads per crop
                clips = np.asarray(clips, dtype=np.float32)
            order = np.random.default_rng(self.seed).permutation(n)
            val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
            kw = {
                "crop": self.crop_,
                "crops_per_track": self.crops_per_track,
                "batch_size": self.batch_size,
                "mean": self.patch_mean_,
                "std": self.patch_std_,
            }
            kw["valid_frames"] = valid_frames(clips)
            if self.spec.frontend:
                side = inputs["frontend"]
                if side.nbytes <= IN_MEMORY_BYTES:
                    side = np.asarray(side, dtype=np.float32)
                kw["side"] = (side, CONV_DOWNSAMPLING, np.asarray(self.frontend_mean_), np.asarray(self.frontend_std_))
            train = CropBatches(clips, train_idx, seed=self.seed, **kw)
            # validation: 3 fixed crops per held-out track are enough to compare epochs, at a third of the cost
            val = (
                CropBatches(clips, val_idx, seed=self.seed + 1, fixed=True, **{**kw, "crops_per_track": 3})
                if n_val
                else None
            )
            return fit_with_trainer(
                self.model_,
                self.learning_rate,
                lambda t: t.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks, verbose=self.verbose),
            )
        # Feature vectors: one repeated tf.data pipeline for the whole fit. Keras's own array adapter builds a new
        # pipeline iterator every epoch (~12 ms each for training and validation, about a third of a small model's
        # training time on a CPU). Same split as Keras's validation_split: the last rows, before shuffling.
        import tensorflow as tf

        n_train = n - n_val
        arrays = {k: np.asarray(v) for k, v in inputs.items()}
        train = (
            tf.data.Dataset.from_tensor_slices({k: v[:n_train] for k, v in arrays.items()})
            .shuffle(n_train, seed=self.seed, reshuffle_each_iteration=True)
            .batch(self.batch_size)
            .repeat()
        )
        val = val_steps = None
        if n_val:
            val = tf.data.Dataset.from_tensor_slices({k: v[n_train:] for k, v in arrays.items()})
            val = val.batch(self.batch_size).cache().repeat()
            val_steps = -(-n_val // self.batch_size)
        return fit_with_trainer(
            self.model_,
            self.learning_rate,
            lambda t: t.fit(
                train,
                epochs=epochs,
                steps_per_epoch=-(-n_train // self.batch_size),
                shuffle=False,
                validation_data=val,
                validation_steps=val_steps,
                callbacks=callbacks,
                verbose=self.verbose,
            ),
        )

    def fit(self, X, condition=None, lyrics=None, lyrics_mask=None, frontend=None) -> LatentModel:
        import keras

        from .vae import KLWarmup

        inputs = self._inputs(X, condition, lyrics, lyrics_mask, fitting=True, frontend=frontend)
        n = len(inputs["audio"])
        n_train = n - int(round(n * self.validation_split))
        if n_train * (self.crops_per_track if self.spec.conv else 1) < self.batch_size:
            raise MusiclustError(
                f"{n} tracks leave {n_train} for training, fewer than the batch size "
                f"{self.batch_size}: pass a smaller batch size (--batch-size)"
            )
        self.input_shape_ = tuple(inputs["audio"].shape[1:])
        if self.spec.conv:
            self.crop_ = _crop_length(self.crop_frames, self.input_shape_[1])
            self.patch_mean_, self.patch_std_ = _streaming_mean_std(inputs["audio"])
        if self.spec.frontend:
            mean, std = _streaming_channel_mean_std(inputs["frontend"])
            self.frontend_mean_, self.frontend_std_ = mean.tolist(), std.tolist()
        if self.spec.multimodal:
            self.lyrics_dim_ = inputs["lyrics"].shape[1]
        _set_determinism(self.seed)
        self.model_ = self._build(inputs)
        monitor = "val_loss" if self.validation_split else "loss"
        history: dict[str, list] = {}
        if self.spec.mixture_prior:
            # VaDE: pretrain as an autoencoder, then initialize the mixture prior from a GMM on the latent means.
            from sklearn.mixture import GaussianMixture

            self.model_.deterministic = True
            # pretrained to convergence on the validation split, as VaDE's (and DEC's) autoencoders are; stopping
            # early keeps the weights of the best epoch
            stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=self.patience, restore_best_weights=True)
            h = self._train(inputs, self.pretrain_epochs, [stop])
            history.update({f"pretrain_{k}": v for k, v in h.history.items()})
            Z = self._encode_inputs(inputs)
            gmm = GaussianMixture(
                self.n_components, covariance_type="diag", random_state=self.seed, reg_covar=1e-4
            ).fit(Z)
            self.model_.gmm_means.assign(gmm.means_.astype(np.float32))
            self.model_.gmm_log_vars.assign(np.log(gmm.covariances_).astype(np.float32))
            self.model_.pi_logits.assign(np.log(gmm.weights_).astype(np.float32))
            self.model_.deterministic = False
        # Early stopping compares losses only once the KL weight has reached 1: during the warm-up the loss grows
        # with the weight, and "best" would otherwise mean "before the KL term counted fully".
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=self.patience,
                restore_best_weights=True,
                start_from_epoch=self.model_.kl_warmup_epochs,
            )
        ]
        if self.model_.kl_warmup_epochs:
            callbacks.append(KLWarmup(self.model_.kl_warmup_epochs))
        h = self._train(inputs, self.epochs, callbacks)
        history.update(h.history)
        if self.spec.dec_refine:
            from .idec import refine

            centres, h_idec = refine(
                self.model_.encoders["audio"],
                self.model_.decoders["audio"],
                inputs["audio"],
                self.n_components,
                self.seed,
                batch_size=self.batch_size,
                keep_reconstruction=self.spec.dec_keeps_reconstruction,
            )
            self.cluster_centers_ = centres.tolist()
            history.update(h_idec)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.items()}
        self.latent_activity_ = self._latent_activity(inputs)
        self.history_["latent_activity"] = self.latent_activity_
        return self

    ACTIVE_NATS = 0.01  # a latent dimension is active when its average KL exceeds this (Burda et al. 2016 use 0.01)

    def _latent_activity(self, inputs: dict, batch: int = 256) -> dict:
        """Which latent dimensions carry information about the data (posterior collapse shows as none).

        Stochastic models: the KL divergence of each dimension of q(z|x) from the prior, averaged over the tracks
        (``kl_per_dim``, nats); VaDE's prior is its mixture, so a dimension's KL is against each component weighted by
        q(c|x) (Jiang et al. 2017, Eq. 11 split by dimension); a ConvVAE's dimensions are averaged over the latent
        steps of the first crop of each track. A dimension is active above 0.01 nats. Deterministic models (AE,
        DEC, IDEC) have no KL: a dimension is active when its latent means vary across tracks, Cov_x(E[z_u]) > 0.01
        (Burda, Grosse & Salakhutdinov 2016, the criterion the KL threshold stands in for).
        """
        if self.spec.conv:
            n = min(len(inputs["audio"]), 512)
            side = inputs["frontend"][:n, :, : self.crop_ // CONV_DOWNSAMPLING] if self.spec.frontend else None
            parts = self._crop_parts(inputs["audio"][:n, :, : self.crop_], side)
            mu, lv = (np.asarray(a) for a in self.model_.encode_distribution(parts))
        else:
            mu, lv = self._posterior(inputs, batch)
        mu, lv = mu.astype(np.float64), lv.astype(np.float64)
        if self.spec.deterministic:
            per_dim = mu.var(axis=0)
            criterion = "variance of the latent means across tracks > 0.01 (deterministic model: no KL)"
        elif self.spec.mixture_prior:
            gamma = np.asarray(self.model_.cluster_probabilities(mu.astype(np.float32)), dtype=np.float64)  # (n, K)
            mc = np.asarray(self.model_.gmm_means, dtype=np.float64)[None]  # (1, K, D)
            lvc = np.asarray(self.model_.gmm_log_vars, dtype=np.float64)[None]
            kl = 0.5 * (lvc - lv[:, None] + (np.exp(lv[:, None]) + (mu[:, None] - mc) ** 2) / np.exp(lvc) - 1)
            per_dim = (gamma[..., None] * kl).sum(axis=1).mean(axis=0)
            criterion = "KL of q(z_d|x) from the mixture prior (weighted by q(c|x)), mean over tracks > 0.01 nats"
        else:
            per_dim = (0.5 * (mu**2 + np.exp(lv) - lv - 1)).mean(axis=0)
            criterion = "KL of q(z_d|x) from N(0, 1), mean over tracks > 0.01 nats"
        if self.spec.conv:
            per_dim = per_dim.reshape(self.latent_steps_, self.latent_dim).mean(axis=0)
        return {
            "active_units": int((per_dim > self.ACTIVE_NATS).sum()),
            "latent_dim": int(len(per_dim)),
            "per_dim": [round(float(v), 5) for v in per_dim],
            "criterion": criterion,
        }

    # --- inference --------------------------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise MusiclustError(f"model '{self.name}' is not fitted: call fit() first")

    def _encode_inputs(self, inputs: dict, batch: int = 256, subset: list[str] | None = None) -> np.ndarray:
        if self.spec.conv:
            return self._encode_clips(inputs["audio"], side=inputs.get("frontend"))
        return self._posterior(inputs, batch, subset)[0].astype(np.float64)

    def _posterior(self, inputs: dict, batch: int = 256, subset: list[str] | None = None):
        """Feature-vector models: ``(z_mean, z_log_var)`` of q(z|x) ``(n, latent_dim)`` each, in batches."""
        mus, lvs = [], []
        for start in range(0, len(inputs["audio"]), batch):
            part = {k: np.asarray(v[start : start + batch]) for k, v in inputs.items()}
            m, v = self.model_.encode_distribution(part, subset) if subset else self.model_.encode_distribution(part)
            mus.append(np.asarray(m))
            lvs.append(np.asarray(v))
        return np.concatenate(mus), np.concatenate(lvs)

    @property
    def latent_steps_(self) -> int:
        """ConvVAE: latent steps per crop (the encoder halves the frame rate twice, see `networks.conv_encoder`)."""
        return self.crop_ // CONV_DOWNSAMPLING

    def _crop_latents(self, crops, side=None) -> np.ndarray:
        """ConvVAE: latent-mean sequences of crops ``(m, n_mels, crop_)`` (and for the transfer ConvVAE their
        front-end sequences ``side`` ``(m, 561, crop_ / 4)``, which it encodes) -> ``(m, steps, latent_dim)``."""
        z_mean, _ = self.model_.encode_distribution(self._crop_parts(crops, side))
        return np.asarray(z_mean).reshape(len(crops), self.latent_steps_, self.latent_dim)

    def _crop_parts(self, crops, side=None) -> dict:
        """ConvVAE: the network's inputs for crops (and the transfer ConvVAE's front-end steps under them), normalized
        with the training set's statistics."""
        crops = np.asarray(crops, dtype=np.float32)
        parts = {"audio": ((crops - self.patch_mean_) / self.patch_std_).astype(np.float32)}
        if self.spec.frontend:
            mean = np.asarray(self.frontend_mean_, np.float32)[:, None]
            std = np.asarray(self.frontend_std_, np.float32)[:, None]
            parts["frontend"] = ((np.asarray(side, dtype=np.float32) - mean) / std).astype(np.float32)
        return parts

    def _encode_clips(self, clips, tracks_per_batch: int = 16, side=None) -> np.ndarray:
        """ConvVAE: a crop's latent is the mean over its steps of the latent means (one per 93 ms); a track's latent is
        the mean of the latents of its non-overlapping crops (``crop_`` frames each, from the start; a 30-s clip has
        10) that lie in its real audio, not in the padding of a short clip (at least the first crop counts),
        ``(n, latent_dim)``."""
        from .data import valid_frames

        n_frames = clips.shape[2]
        offsets = np.arange(0, n_frames - self.crop_ + 1, self.crop_)
        out = []
        for start in range(0, len(clips), tracks_per_batch):
            part = np.asarray(clips[start : start + tracks_per_batch], dtype=np.float32)
            crops = np.concatenate([part[:, :, o : o + self.crop_] for o in offsets])  # (w * b, mels, crop)
            side_crops = None
            if side is not None:  # the transfer ConvVAE's front-end steps under the same crops
                sp = np.asarray(side[start : start + tracks_per_batch], dtype=np.float32)
                d, w = CONV_DOWNSAMPLING, self.crop_ // CONV_DOWNSAMPLING
                side_crops = np.concatenate([sp[:, :, o // d : o // d + w] for o in offsets])
            z = self._crop_latents(crops, side_crops).mean(axis=1).reshape(len(offsets), len(part), -1)
            inside = offsets[:, None] + self.crop_ <= valid_frames(part)[None, :]  # (w, b)
            inside[0] = True
            out.append((z * inside[..., None]).sum(axis=0) / inside.sum(axis=0)[:, None])
        return np.concatenate(out).astype(np.float64)

    def encode_experts(self, X, lyrics=None, lyrics_mask=None) -> dict[str, np.ndarray]:
        """``multimodal`` only: each expert's own posterior mean, ``{"audio": (n, d), "lyrics": (n, d)}``.

        The sub-sampled ELBO trains every expert to explain all modalities alone, so each of these is a usable latent
        by itself. Rows without lyrics have no lyrics expert: their lyrics latent is the mean of the others (neutral).
        """
        self._check_fitted()
        if not self.spec.multimodal:
            raise MusiclustError(f"model '{self.name}' has one expert; use encode()")
        inputs = self._inputs(X, None, lyrics, lyrics_mask)
        out = {name: self._encode_inputs(inputs, subset=[name]) for name in ("audio", "lyrics")}
        present = inputs["lyrics_mask"] > 0
        if present.any() and not present.all():
            out["lyrics"][~present] = out["lyrics"][present].mean(axis=0)
        return out

    def encode(self, X, condition=None, lyrics=None, lyrics_mask=None, frontend=None) -> np.ndarray:
        """Latent means ``(n, latent_dim)``."""
        self._check_fitted()
        return self._encode_inputs(self._inputs(X, condition, lyrics, lyrics_mask, frontend=frontend))

    def decode(self, Z, condition=None) -> dict[str, np.ndarray]:
        """Reconstructions per modality from latent points ``Z`` ``(n, latent_dim)`` (ConvVAE: latent sequences
        ``(n, steps * latent_dim)``, one ``latent_dim`` vector per 4 frames of a crop)."""
        self._check_fitted()
        width = self.latent_dim * self.latent_steps_ if self.spec.conv else self.latent_dim
        Z = _check_matrix(Z, "Z", width).astype(np.float32)
        cond = None
        if self.spec.conditional:
            cond = self._inputs(
                np.zeros((len(Z), *self.input_shape_))
                if not self.spec.conv
                else np.zeros((len(Z), *self.input_shape_), np.float32),
                condition,
            )["condition"]
        outs = self.model_.decode(Z, cond)
        outs = {k: np.asarray(v) for k, v in outs.items()}
        if self.spec.conv:
            outs["audio"] = outs["audio"] * self.patch_std_ + self.patch_mean_
        return outs

    def reconstruct(self, X, condition=None, lyrics=None, lyrics_mask=None, frontend=None) -> np.ndarray:
        """Audio reconstructions, same shape as ``X`` (ConvVAE: ``X`` holds crops of ``crop_frames`` frames, each
        decoded from its own latent sequence)."""
        if self.spec.conv:
            self._check_fitted()
            inputs = self._inputs(X, condition, frontend=frontend)
            X = inputs["audio"]
            if X.shape[2] != self.crop_:
                raise MusiclustError(f"reconstruct() takes crops of {self.crop_} frames, not {X.shape[2]}")
            latents = self._crop_latents(X, inputs.get("frontend"))
            return self.decode(latents.reshape(len(X), -1), condition)["audio"]
        Z = self.encode(X, condition, lyrics, lyrics_mask)
        return self.decode(Z, condition)["audio"]

    def predict_clusters(self, X, condition=None, lyrics=None, lyrics_mask=None) -> np.ndarray:
        """``gmmvae`` only: the most probable mixture component of each track ``(n,)``."""
        if not self.spec.mixture_prior:
            raise MusiclustError(f"model '{self.name}' has no mixture prior to cluster with")
        Z = self.encode(X, condition, lyrics, lyrics_mask).astype(np.float32)
        return np.asarray(self.model_.cluster_probabilities(Z)).argmax(axis=1)

    # --- persistence ------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``<path>.keras`` (the Keras model) and ``<path>.json`` (this wrapper's parameters and state)."""
        self._check_fitted()
        path = Path(path).with_suffix(".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model_.save(path)
        state = {"params": self.get_params(), "input_shape": list(self.input_shape_)}
        for attr in STATE_ATTRS:
            if hasattr(self, attr):
                state[attr] = getattr(self, attr)
        path.with_suffix(".json").write_text(json.dumps(state, indent=2, default=float))
        return path

    @classmethod
    def load(cls, path: str | Path) -> LatentModel:
        import keras

        from . import vae  # noqa: F401  (registers the custom objects)

        path = Path(path).with_suffix(".keras")
        if not path.exists():
            raise MusiclustError(f"no saved model at {path}")
        state = json.loads(path.with_suffix(".json").read_text())
        params = state["params"]
        params["hidden"] = tuple(params["hidden"])
        self = cls(**params)
        self.model_ = keras.saving.load_model(path, compile=False)
        self.input_shape_ = tuple(state["input_shape"])
        for attr in STATE_ATTRS:
            if attr in state:
                setattr(self, attr, state[attr])
        if self.spec.conv:
            self.crop_ = _crop_length(self.crop_frames, self.input_shape_[1])
        return self


def _crop_length(crop_frames: int, n_frames: int) -> int:
    """Frames per ConvVAE crop: ``crop_frames`` or the whole clip if shorter, rounded down to whole latent steps."""
    crop = min(crop_frames, n_frames) // CONV_DOWNSAMPLING * CONV_DOWNSAMPLING
    if crop < CONV_DOWNSAMPLING:
        raise MusiclustError(f"clips of {n_frames} frames are too short for the ConvVAE (at least {CONV_DOWNSAMPLING})")
    return crop


def _streaming_mean_std(X, chunk: int = 256) -> tuple[float, float]:
    """Global mean and std of a (possibly memory-mapped) array, read in chunks."""
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(X), chunk):
        part = np.asarray(X[start : start + chunk], dtype=np.float64)
        total += part.sum()
        total_sq += np.square(part).sum()
        count += part.size
    mean = total / count
    return float(mean), float(max(np.sqrt(max(total_sq / count - mean**2, 0.0)), 1e-6))


def _streaming_channel_mean_std(X, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std ``(channels,)`` of a (possibly memory-mapped) ``(n, channels, steps)`` array, read in
    chunks; constant channels get std 1 (the front end has a few always-zero units)."""
    total = total_sq = 0.0
    count = 0
    for start in range(0, len(X), chunk):
        part = np.asarray(X[start : start + chunk], dtype=np.float64)
        total = total + part.sum(axis=(0, 2))
        total_sq = total_sq + np.square(part).sum(axis=(0, 2))
        count += part.shape[0] * part.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return mean, np.where(std > 1e-6, std, 1.0)


def model_descriptions() -> dict[str, str]:
    return {k: v.description for k, v in MODELS.items()}


__all__ = ["MODELS", "LatentModel", "ModelSpec", "model_descriptions"]
