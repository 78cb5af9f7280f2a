"""Encoder and decoder builders (Keras 3 functional models).

Every encoder maps its input (and an optional condition vector) to ``(z_mean, z_log_var)``, each ``(batch, latent)``;
every decoder maps ``z`` (and the optional condition) back to the input's shape. The VAE family differs only in which
builders it combines (see `models.vae` and `models.registry`).
"""

from __future__ import annotations

import keras
from keras import layers


def _inputs(shape, cond_dim: int, name: str):
    x = keras.Input(shape=shape, name=name)
    c = keras.Input(shape=(cond_dim,), name=f"{name}_condition") if cond_dim else None
    return x, c


def dense_encoder(
    input_dim: int, latent_dim: int, hidden: tuple[int, ...] = (256, 128), cond_dim: int = 0, name: str = "encoder"
) -> keras.Model:
    """``x (batch, input_dim)`` [+ condition] -> ``z_mean, z_log_var (batch, latent_dim)``."""
    x, c = _inputs((input_dim,), cond_dim, f"{name}_x")
    h = layers.Concatenate()([x, c]) if c is not None else x
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"{name}_dense{i}")(h)
    z_mean = layers.Dense(latent_dim, name=f"{name}_z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name=f"{name}_z_log_var", kernel_initializer="zeros")(h)
    return keras.Model([x, c] if c is not None else x, [z_mean, z_log_var], name=name)


def dense_decoder(
    output_dim: int, latent_dim: int, hidden: tuple[int, ...] = (128, 256), cond_dim: int = 0, name: str = "decoder"
) -> keras.Model:
    """``z (batch, latent_dim)`` [+ condition] -> ``x_hat (batch, output_dim)`` (linear output: standardized data)."""
    z, c = _inputs((latent_dim,), cond_dim, f"{name}_z")
    h = layers.Concatenate()([z, c]) if c is not None else z
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"{name}_dense{i}")(h)
    out = layers.Dense(output_dim, name=f"{name}_out")(h)
    return keras.Model([z, c] if c is not None else z, out, name=name)


def _latent_steps(shape: tuple[int, int], filters: tuple[int, ...]) -> int:
    """Latent steps of a ``(n_mels, n_frames)`` crop: each of the ``filters`` layers halves the frame rate."""
    down = 2 ** len(filters)
    if shape[1] % down:
        raise ValueError(f"a crop of {shape[1]} frames must be divisible by {down}")
    return shape[1] // down


def conv_encoder(
    shape: tuple[int, int],
    latent_dim: int,
    filters: tuple[int, ...] = (128, 128),
    cond_dim: int = 0,
    name: str = "encoder",
) -> keras.Model:
    """``x (batch, n_mels, n_frames)`` log-mel crop -> a latent *sequence*: ``z_mean, z_log_var`` each
    ``(batch, steps * latent_dim)`` with ``steps = n_frames / 2**len(filters)`` (flattened, step-major).

    Convolutions run along time with the mel bands as channels (a 1-D convolutional VAE over the spectrogram, as in
    RAVE, Caillon & Esling 2021): each strided 3-tap layer halves the frame rate, so a 128-frame crop (3 s) becomes 32
    latent steps of 93 ms. A latent per step, not one per crop, is what lets the decoder put onsets back where they
    were; a single vector for 3 s of music can only hold their average (the blurred mean spectrum of a global-latent
    ConvVAE). The condition, if any, is appended to every step.
    """
    steps = _latent_steps(shape, filters)
    x, c = _inputs(shape, cond_dim, f"{name}_x")
    h = layers.Permute((2, 1), name=f"{name}_time_major")(x)  # (batch, n_frames, n_mels)
    for i, f in enumerate(filters):
        h = layers.Conv1D(f, 3, strides=2, padding="same", activation="relu", name=f"{name}_conv{i}")(h)
    if c is not None:
        h = layers.Concatenate()([h, layers.RepeatVector(steps)(c)])
    z_mean = layers.Flatten()(layers.Conv1D(latent_dim, 1, name=f"{name}_z_mean")(h))
    z_log_var = layers.Flatten()(layers.Conv1D(latent_dim, 1, name=f"{name}_z_log_var", kernel_initializer="zeros")(h))
    return keras.Model([x, c] if c is not None else x, [z_mean, z_log_var], name=name)


def conv_decoder(
    shape: tuple[int, int],
    latent_dim: int,
    filters: tuple[int, ...] = (128, 128),
    cond_dim: int = 0,
    name: str = "decoder",
) -> keras.Model:
    """Latent sequence ``(batch, steps * latent_dim)`` -> ``x_hat (batch, n_mels, n_frames)``: a 3-tap convolution
    over the steps, transposed convolutions doubling the frame rate back to ``n_frames``, and a per-frame linear map to
    the mel bands (so a frame's spectrum, harmonics included, is drawn from its step's latent, not interpolated)."""
    steps = _latent_steps(shape, filters)
    z, c = _inputs((steps * latent_dim,), cond_dim, f"{name}_z")
    h = layers.Reshape((steps, latent_dim))(z)
    if c is not None:
        h = layers.Concatenate()([h, layers.RepeatVector(steps)(c)])
    h = layers.Conv1D(filters[0], 3, padding="same", activation="relu", name=f"{name}_conv_in")(h)
    for i, f in enumerate(filters):
        h = layers.Conv1DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"{name}_deconv{i}")(h)
    h = layers.Conv1D(shape[0], 1, name=f"{name}_out")(h)  # (batch, n_frames, n_mels)
    out = layers.Permute((2, 1), name=f"{name}_mel_major")(h)
    return keras.Model([z, c] if c is not None else z, out, name=name)


def sequence_encoder(
    shape: tuple[int, int],
    latent_dim: int,
    filters: tuple[int, ...] = (128, 128),
    name: str = "encoder",
) -> keras.Model:
    """Pretrained feature sequence ``x (batch, channels, steps)`` -> a latent sequence ``z_mean, z_log_var`` each
    ``(batch, steps * latent_dim)`` (flattened, step-major), at the sequence's own rate: 3-tap convolutions along the
    steps, no striding (the features already come one per 4 frames, the rate of `conv_encoder`'s latent)."""
    x, _ = _inputs(shape, 0, f"{name}_x")
    h = layers.Permute((2, 1), name=f"{name}_time_major")(x)  # (batch, steps, channels)
    for i, f in enumerate(filters):
        h = layers.Conv1D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(h)
    z_mean = layers.Flatten()(layers.Conv1D(latent_dim, 1, name=f"{name}_z_mean")(h))
    z_log_var = layers.Flatten()(layers.Conv1D(latent_dim, 1, name=f"{name}_z_log_var", kernel_initializer="zeros")(h))
    return keras.Model(x, [z_mean, z_log_var], name=name)
