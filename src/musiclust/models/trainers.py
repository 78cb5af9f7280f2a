"""Compiled trainers shared by the fits of one network configuration in a process.

Keras traces a model's training and validation steps into TensorFlow graphs the first time the model is fitted, and a
new model means a new trace. For the small dense models of a study that tracing is most of a fit: on the corpus (294
tracks, one core) a VAE fit took 2.4 s, and fitting the same compiled model again 0.4 s; the multimodal VAE 5.4 s and
1.0 s. Every seed of a representation builds the same network (so do the AE and the autoencoders that DEC and IDEC
pretrain): the same graph, other variable values. So a process keeps one compiled copy, a *trainer*, per network
configuration. A fit copies the values of its freshly built and initialized model into the trainer, resets the
trainer's optimizer to its initial state, trains the trainer, and copies the trained values back into the model.

The model is built and initialized exactly as without the trainers, and the trainer computes the same graph on the same
values, so the trained weights are bit-for-bit those of a fit of a new compiled model (tests/test_models.py).

What makes two networks "the same": their Keras configuration (every layer's class and settings, the wiring, and the
loss constants the `VAE` bakes into its graph: beta, deterministic, likelihood, mixture size, free nats, modality
balance, ...), less the seed (initial values and the sampling state are variables, copied), with the layer names that
Keras numbers per process (``flatten_12``) replaced by their position; plus the optimizer's settings.
"""

from __future__ import annotations

import json
import random
import re
from collections import OrderedDict

import numpy as np

# per process, least recently used first out: 10 dense trainers held 57 MB more than the same 10 fits without them
MAX_TRAINERS = 32
_TRAINERS: OrderedDict = OrderedDict()
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _layer_names(model) -> list[str]:
    """Every layer and sub-model name of ``model``, in a fixed order (depth first, as the model lists them)."""
    names = []
    for layer in getattr(model, "layers", []):
        names.append(layer.name)
        names += _layer_names(layer)
    return names


def network_key(model, learning_rate: float) -> str:
    """A string equal for two models exactly when they trace the same training graph with the same optimizer."""
    config = dict(model.get_config())
    config.pop("seed", None)  # initial values and the sampling state are variables, copied before each fit
    config.pop("name", None)  # numbered per process (vae, vae_1, ...), like the layers below
    text = json.dumps({"model": config, "optimizer": ["adam", float(learning_rate)]}, sort_keys=True, default=repr)
    names = {}
    for encoder_or_decoder in [*model.encoders.values(), *model.decoders.values()]:
        for name in [encoder_or_decoder.name, *_layer_names(encoder_or_decoder)]:
            names.setdefault(name, f"<layer {len(names)}>")
    return _QUOTED.sub(lambda m: f'"{names.get(m.group(1), m.group(1))}"', text)


def _copy_values(source, target) -> None:
    """Assign every variable of ``source`` (weights, KL weight, mixture prior, sampling state) to ``target``'s."""
    src, dst = list(source.variables), list(target.variables)
    if len(src) != len(dst):
        raise RuntimeError(f"trainer mismatch: {len(src)} variables against {len(dst)}")
    for a, b in zip(src, dst):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"trainer mismatch: {a.path} {tuple(a.shape)} against {b.path} {tuple(b.shape)}")
        b.assign(a)


def _reset_optimizer(optimizer, learning_rate: float) -> None:
    """The optimizer's state as a new one has it: step 0, moment estimates 0, the learning rate as given."""
    rate = getattr(optimizer, "_learning_rate", None)
    for v in optimizer.variables:
        if v is rate:
            v.assign(learning_rate)
        else:
            v.assign(v.numpy() * 0)


def fit_with_trainer(model, learning_rate: float, fit):
    """``fit(trainer)`` (which calls ``trainer.fit(...)`` and returns its history) on this process's compiled trainer
    for ``model``'s network, starting from ``model``'s current values; afterwards ``model`` holds the trained values.
    Returns what ``fit`` returned. The trainer is built and compiled (Adam at ``learning_rate``) on first use."""
    import keras

    key = network_key(model, learning_rate)
    trainer = _TRAINERS.pop(key, None)
    if trainer is None:
        # Building draws seeds for the new layers' initializers from Python's random module, which Keras also uses to
        # shuffle a PyDataset's batches (the ConvVAE's crops): the fit must see the state it would have seen without
        # the trainer.
        state = random.getstate(), np.random.get_state()
        trainer = type(model).from_config(model.get_config())
        random.setstate(state[0])
        np.random.set_state(state[1])
        trainer.compile(optimizer=keras.optimizers.Adam(learning_rate))
    else:
        _reset_optimizer(trainer.optimizer, learning_rate)
    _copy_values(model, trainer)
    result = fit(trainer)  # if it raises, the trainer stays out of the cache: no half-trained state is reused
    _TRAINERS[key] = trainer  # most recently used last
    while len(_TRAINERS) > MAX_TRAINERS:
        _TRAINERS.popitem(last=False)
    _copy_values(trainer, model)
    return result


def clear() -> None:
    """Forget every trainer of this process (tests; a worker that must not hold their memory)."""
    _TRAINERS.clear()
