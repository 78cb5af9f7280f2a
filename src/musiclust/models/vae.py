"""One Keras 3 model class for the whole autoencoder family.

``VAE`` combines one or more encoders ("experts", one per modality), one decoder per modality, an optional condition
vector, and a prior. Each family member is a parameter of it, not a copy:

- AE: ``deterministic=True`` (no sampling, no KL term).
- VAE (Kingma & Welling 2014): ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)); reconstruction as a Gaussian
  log-likelihood with unit variance, i.e. half the summed squared error.
- Beta-VAE (Higgins et al. 2017): the same with ``beta > 1`` multiplying the KL term. ``kl_warmup_epochs`` ramps the
  KL weight linearly from 0 to ``beta`` (Bowman et al. 2016).
- CVAE (Sohn et al. 2015): encoders and decoders also receive a one-hot condition ``c``; q(z|x, c), p(x|z, c).
- ConvVAE: the VAE with convolutional encoder/decoder builders on log-mel patches.
- Multimodal VAE: one expert per modality, fused by a product of Gaussian experts with the prior expert N(0, I)
  (Wu & Goodman 2018, MVAE): precision-weighted means. A track without lyrics simply leaves the lyrics expert out
  of the product (its mask is 0), and its lyrics reconstruction term is masked out -- no fake text enters.
  ``subsampled_elbo=True`` trains with MVAE's sub-sampled objective (Wu & Goodman 2018, Sec. 3): the ELBO of the
  joint posterior plus the ELBO of each expert alone, every one reconstructing every modality, so each expert is
  informative on its own as well as in the product.
- Calibrated decoder (sigma-VAE, Rybkin et al. 2021): ``likelihood="calibrated"`` replaces the unit variance by the
  maximum-likelihood variance of each modality, sigma_m^2 = MSE_m over the batch, which turns modality m's Gaussian
  negative log-likelihood into (D_m / 2) log MSE_m (+ const). Each modality then counts by its *relative* error, so
  40 standardized audio dimensions cannot drown 32 lyrics dimensions, and the KL term is weighed against a decoder
  variance that matches the data instead of an arbitrary 1 (a blurred mean spectrum is no longer the optimum).
  ``balance_modalities=True`` (the multimodal VAE) goes one step further and weighs every modality as if it had the
  smallest modality's number of dimensions (likelihood rescaling, as in Shi et al. 2019, MMVAE): (D_m / 2) log MSE_m
  still grows with D_m, so 200 musicnn dimensions outweighed 32 lyrics dimensions by 100 to 16, and the lyrics
  expert, which must also explain the audio under the sub-sampled ELBO, gave up the language (language NMI 0.00 on
  200 real English/German songs, against 0.94 with 40 MFCC dimensions).
- Free nats (Kingma et al. 2016, "Improved variational inference with inverse autoregressive flow", Eq. 15, with the
  whole latent as one group): ``free_nats=lambda`` replaces the KL term by max(KL, lambda), its batch mean; below
  lambda nats the latent's information costs nothing, so a Beta-VAE on a small input cannot end with every unit
  collapsed to the prior, and where the KL exceeds lambda (any VAE that uses its latent) the objective is unchanged.
- GMM-prior VAE (VaDE, Jiang et al. 2017): p(z) = sum_c pi_c N(z; mu_c, diag sigma_c^2); the KL term becomes
  Eq. (11) of the paper with responsibilities gamma_c = q(c|x) computed from the sampled z.

Inputs are a dict: ``{"audio": (batch, ...), "lyrics": (batch, d_l), "lyrics_mask": (batch,), "condition": (batch,
n_cond)}``; only the keys the model was built with are needed.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="musiclust")
class Sampling(layers.Layer):
    """z = mu + sigma * eps, eps ~ N(0, I), with its own seeded generator (reparameterization trick)."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample ``(batch,)`` (Kingma & Welling 2014, Appendix B)."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="musiclust")
class VAE(keras.Model):
    """The autoencoder family; see the module docstring.

    Args:
        encoders / decoders: modality name -> functional model (see `networks`); the names are the input dict keys.
        encoder_inputs: modality name -> the input key its encoder reads, where that differs from the modality.
        condition_dim: width of the one-hot condition (0: unconditional).
        beta: KL weight; ``deterministic``: plain autoencoder.
        n_components: > 0 gives the VaDE Gaussian-mixture prior with that many components.
        free_nats: the KL term is max(KL, free_nats) (free bits, Kingma et al. 2016); 0 turns it off.
        balance_modalities: with the calibrated likelihood, each modality's (D_m / 2) log MSE_m counts D = the smallest
            modality's dimension instead of its own D_m, so every modality weighs the same.
    """

    def __init__(
        self,
        encoders: dict,
        decoders: dict,
        latent_dim: int,
        condition_dim: int = 0,
        beta: float = 1.0,
        deterministic: bool = False,
        n_components: int = 0,
        kl_warmup_epochs: int = 0,
        seed: int = 0,
        likelihood: str = "unit",
        subsampled_elbo: bool = False,
        encoder_inputs: dict | None = None,
        free_nats: float = 0.0,
        balance_modalities: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.free_nats = float(free_nats)
        self.balance_modalities = bool(balance_modalities)
        self._balanced_dim = 0
        if balance_modalities and len(decoders) > 1:
            self._balanced_dim = min(int(math.prod(d.output.shape[1:])) for d in decoders.values())
        # modality -> the input its encoder reads, when not the one its decoder reconstructs (the transfer ConvVAE
        # encodes musicnn's front-end features and reconstructs the log-mel frames they came from)
        self.encoder_inputs = dict(encoder_inputs or {})
        self.encoders = dict(encoders)
        self.decoders = dict(decoders)
        self.modalities = list(self.encoders)
        self.latent_dim = latent_dim
        self.condition_dim = condition_dim
        self.beta = beta
        self.deterministic = deterministic
        self.n_components = n_components
        self.kl_warmup_epochs = kl_warmup_epochs
        self.seed = seed
        if likelihood not in ("unit", "calibrated"):
            raise ValueError(f"likelihood must be 'unit' or 'calibrated', not {likelihood!r}")
        self.likelihood = likelihood
        self.subsampled_elbo = subsampled_elbo and len(self.modalities) > 1
        self.sampling = Sampling(seed=seed, name="sampling")
        # Current KL weight; a callback ramps it during warm-up (not trainable, saved with the model).
        self.kl_weight = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(0.0 if kl_warmup_epochs > 0 else 1.0),
            trainable=False,
            name="kl_weight",
        )
        if n_components:
            self.pi_logits = self.add_weight(shape=(n_components,), initializer="zeros", name="gmm_pi_logits")
            self.gmm_means = self.add_weight(
                shape=(n_components, latent_dim), initializer="random_normal", name="gmm_means"
            )
            self.gmm_log_vars = self.add_weight(
                shape=(n_components, latent_dim), initializer="zeros", name="gmm_log_vars"
            )
        self.built = True  # every sub-network is a functional model, built on construction
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.recon_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    # --- encoding -------------------------------------------------------------------------------------------------
    def _expert(self, name, inputs):
        x = inputs[self.encoder_inputs.get(name, name)]
        if self.condition_dim:
            return self.encoders[name]([x, inputs["condition"]])
        return self.encoders[name](x)

    def encode_distribution(self, inputs, subset=None):
        """``(z_mean, z_log_var)`` of q(z|x): one expert, or the product of the present experts of ``subset``
        (default: all) and N(0, I)."""
        if len(self.modalities) == 1:
            return self._expert(self.modalities[0], inputs)
        precision = ops.ones((ops.shape(inputs[self.modalities[0]])[0], self.latent_dim))  # prior expert N(0, I)
        weighted_mean = ops.zeros_like(precision)
        for name in subset or self.modalities:
            mu, log_var = self._expert(name, inputs)
            mask = inputs.get(f"{name}_mask")
            p = ops.exp(-log_var)
            if mask is not None:
                p = p * ops.expand_dims(ops.cast(mask, p.dtype), -1)
            precision = precision + p
            weighted_mean = weighted_mean + mu * p
        return weighted_mean / precision, -ops.log(precision)

    def decode(self, z, condition=None):
        outs = {}
        for name, dec in self.decoders.items():
            outs[name] = dec([z, condition]) if self.condition_dim else dec(z)
        return outs

    def call(self, inputs, training=False):
        z_mean, z_log_var = self.encode_distribution(inputs)
        z = z_mean if (self.deterministic or not training) else self.sampling([z_mean, z_log_var])
        return self.decode(z, inputs.get("condition"))

    # --- losses ---------------------------------------------------------------------------------------------------
    def reconstruction_loss(self, inputs, outputs, row_weight=None):
        """Gaussian negative log-likelihood of each modality, summed over modalities; a batch mean (scalar).

        ``unit``: half the squared error summed over features (unit variance), masked per modality, averaged over the
        batch. ``calibrated`` (sigma-VAE): (D_m / 2) log(MSE_m) per modality with MSE_m the mean squared error over
        the batch's present rows and features. ``row_weight`` ``(batch,)`` weights rows (0 leaves a row out).
        """
        total = 0.0
        for name, x_hat in outputs.items():
            x = ops.cast(inputs[name], x_hat.dtype)
            err = ops.square(x - x_hat)
            err = ops.reshape(err, (ops.shape(err)[0], -1))
            dim = ops.cast(ops.shape(err)[1], err.dtype)
            w = ops.ones_like(err[:, 0])
            mask = inputs.get(f"{name}_mask")
            if mask is not None:
                w = w * ops.cast(mask, err.dtype)
            if row_weight is not None:
                w = w * ops.cast(row_weight, err.dtype)
            if self.likelihood == "calibrated":
                mse = ops.sum(ops.sum(err, axis=-1) * w) / (ops.maximum(ops.sum(w), 1.0) * dim)
                present = ops.cast(ops.sum(w) > 0, err.dtype)
                # balanced: every modality counts as many dimensions as the smallest one (see balance_modalities)
                weight = ops.cast(self._balanced_dim, err.dtype) if self._balanced_dim else dim
                total = total + present * 0.5 * weight * ops.log(mse + 1e-6)
            else:
                total = total + ops.sum(0.5 * ops.sum(err, axis=-1) * w) / ops.cast(ops.shape(err)[0], err.dtype)
        return total

    def gmm_kl(self, z, z_mean, z_log_var):
        """VaDE's KL term (Jiang et al. 2017, Eq. 11), per sample, with gamma = q(c|x) from the sampled ``z``."""
        pi = ops.softmax(self.pi_logits)
        mu_c = self.gmm_means[None]  # (1, K, D)
        lv_c = self.gmm_log_vars[None]
        zz = z[:, None, :]  # (B, 1, D)
        log_pz_c = -0.5 * ops.sum(math.log(2 * math.pi) + lv_c + ops.square(zz - mu_c) / ops.exp(lv_c), axis=-1)
        log_gamma = ops.log(pi + 1e-10)[None] + log_pz_c
        gamma = ops.softmax(log_gamma, axis=-1)  # (B, K)
        m, lv = z_mean[:, None, :], z_log_var[:, None, :]
        cross = 0.5 * ops.sum(
            gamma * ops.sum(lv_c + ops.exp(lv) / ops.exp(lv_c) + ops.square(m - mu_c) / ops.exp(lv_c), axis=-1), axis=-1
        )
        log_ratio = ops.sum(gamma * (ops.log(gamma + 1e-10) - ops.log(pi + 1e-10)[None]), axis=-1)
        entropy = -0.5 * ops.sum(1.0 + z_log_var, axis=-1)
        return cross + log_ratio + entropy

    def _elbo_terms(self, inputs, training, subset=None, row_weight=None):
        """``(reconstruction, kl)`` batch means for the posterior of ``subset``'s experts (default: all)."""
        z_mean, z_log_var = self.encode_distribution(inputs, subset)
        if self.deterministic:
            z = z_mean
            kl = ops.zeros_like(z_mean[:, 0])
        else:
            z = self.sampling([z_mean, z_log_var]) if training else z_mean
            kl = self.gmm_kl(z, z_mean, z_log_var) if self.n_components else gaussian_kl(z_mean, z_log_var)
        recon = self.reconstruction_loss(inputs, self.decode(z, inputs.get("condition")), row_weight)
        if row_weight is not None:
            w = ops.cast(row_weight, kl.dtype)
            return recon, ops.sum(kl * w) / ops.maximum(ops.sum(w), 1.0)
        return recon, ops.mean(kl)

    def compute_losses(self, inputs, training):
        recon, kl = self._elbo_terms(inputs, training)
        if self.subsampled_elbo:
            # MVAE's sub-sampled objective: each expert alone must also explain every modality. A row whose modality
            # is missing has no such expert, so it is left out of that expert's term.
            for name in self.modalities:
                mask = inputs.get(f"{name}_mask")
                r, k = self._elbo_terms(inputs, training, subset=[name], row_weight=mask)
                recon, kl = recon + r, kl + k
        kl_term = ops.maximum(kl, self.free_nats) if self.free_nats else kl
        return recon + self.beta * self.kl_weight * kl_term, recon, kl

    def _update(self, loss, recon, kl):
        self.loss_tracker.update_state(loss)
        self.recon_tracker.update_state(recon)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.recon_tracker, self.kl_tracker]

    def train_step(self, data):
        inputs = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            loss, recon, kl = self.compute_losses(inputs, training=True)
        grads = tape.gradient(loss, self.trainable_weights)
        # Some weights get no gradient by design (the variance head and mixture prior while a VaDE pretrains as an
        # autoencoder; the variance head of a plain AE): update only the others.
        pairs = [(g, v) for g, v in zip(grads, self.trainable_weights) if g is not None]
        self.optimizer.apply_gradients(pairs)
        return self._update(loss, recon, kl)

    def test_step(self, data):
        inputs = data[0] if isinstance(data, tuple) else data
        return self._update(*self.compute_losses(inputs, training=False))

    # --- GMM prior helpers ----------------------------------------------------------------------------------------
    def cluster_probabilities(self, z):
        """q(c|x) ``(n, K)`` at latent points ``z`` under the mixture prior."""
        pi = ops.softmax(self.pi_logits)
        lv_c = self.gmm_log_vars[None]
        log_pz_c = -0.5 * ops.sum(lv_c + ops.square(z[:, None, :] - self.gmm_means[None]) / ops.exp(lv_c), axis=-1)
        return ops.softmax(ops.log(pi + 1e-10)[None] + log_pz_c, axis=-1)

    # --- serialization --------------------------------------------------------------------------------------------
    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "encoders": {k: ser(v) for k, v in self.encoders.items()},
            "decoders": {k: ser(v) for k, v in self.decoders.items()},
            "latent_dim": self.latent_dim,
            "condition_dim": self.condition_dim,
            "beta": self.beta,
            "deterministic": self.deterministic,
            "n_components": self.n_components,
            "kl_warmup_epochs": self.kl_warmup_epochs,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "subsampled_elbo": self.subsampled_elbo,
            "encoder_inputs": self.encoder_inputs,
            "free_nats": self.free_nats,
            "balance_modalities": self.balance_modalities,
        }

    @classmethod
    def from_config(cls, config):
        de = keras.saving.deserialize_keras_object
        config = dict(config)
        config["encoders"] = {k: de(v) for k, v in config["encoders"].items()}
        config["decoders"] = {k: de(v) for k, v in config["decoders"].items()}
        return cls(**config)


class KLWarmup(keras.callbacks.Callback):
    """Ramp the KL weight linearly from 0 to 1 over the first ``epochs`` epochs."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch, logs=None):
        if self.epochs > 0:
            self.model.kl_weight.assign(min(1.0, epoch / self.epochs))
