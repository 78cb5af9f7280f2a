"""The autoencoder family (Keras 3, TensorFlow backend). Import is lazy: TensorFlow loads only when a model is used."""

from ..logs import import_tensorflow

import_tensorflow()  # before Keras: TensorFlow's C++ start-up lines are kept off the console


from .base import MODELS, LatentModel, ModelSpec, model_descriptions  # noqa: E402 (after TensorFlow)

__all__ = ["MODELS", "LatentModel", "ModelSpec", "model_descriptions"]
