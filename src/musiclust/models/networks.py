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


def conv_encoder(
    shape: tuple[int, int],
    latent_dim: int,
    filters: tuple[int, ...] = (16, 32, 64),
    cond_dim: int = 0,
    pool: int = 2,
    name: str = "encoder",
) -> keras.Model:
    """``x (batch, n_mels, n_frames)`` log-mel crop -> ``z_mean, z_log_var``; a ``pool`` x ``pool`` average pooling
    (CPU budget: a 128 x 128 crop is analysed at 64 x 64, 46 ms per column), then strided 3x3 convolutions."""
    x, c = _inputs(shape, cond_dim, f"{name}_x")
    h = layers.Reshape((*shape, 1))(x)
    if pool > 1:
        h = layers.AveragePooling2D(pool, name=f"{name}_pool")(h)
    for i, f in enumerate(filters):
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"{name}_conv{i}")(h)
    h = layers.Flatten()(h)
    if c is not None:
        h = layers.Concatenate()([h, c])
    h = layers.Dense(128, activation="relu", name=f"{name}_dense")(h)
    z_mean = layers.Dense(latent_dim, name=f"{name}_z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name=f"{name}_z_log_var", kernel_initializer="zeros")(h)
    return keras.Model([x, c] if c is not None else x, [z_mean, z_log_var], name=name)


def conv_decoder(
    shape: tuple[int, int],
    latent_dim: int,
    filters: tuple[int, ...] = (64, 32, 16),
    cond_dim: int = 0,
    pool: int = 2,
    name: str = "decoder",
) -> keras.Model:
    """``z`` -> ``x_hat (batch, n_mels, n_frames)``; transposed convolutions mirroring `conv_encoder`, then
    ``pool`` x ``pool`` upsampling back to the patch size."""
    z, c = _inputs((latent_dim,), cond_dim, f"{name}_z")
    h = layers.Concatenate()([z, c]) if c is not None else z
    down = 2 ** len(filters) * pool
    if shape[0] % down or shape[1] % down:
        raise ValueError(f"patch shape {shape} must be divisible by {down}")
    start = (shape[0] // down, shape[1] // down, filters[0])
    h = layers.Dense(start[0] * start[1] * start[2], activation="relu", name=f"{name}_dense")(h)
    h = layers.Reshape(start)(h)
    for i, f in enumerate(filters):
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"{name}_deconv{i}")(h)
    h = layers.Conv2D(1, 3, padding="same", name=f"{name}_out")(h)
    if pool > 1:
        h = layers.UpSampling2D(pool, interpolation="bilinear", name=f"{name}_upsample")(h)
    out = layers.Reshape(shape)(h)
    return keras.Model([z, c] if c is not None else z, out, name=name)
