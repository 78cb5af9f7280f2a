"""The autoencoder family (Keras 3, TensorFlow backend). Import is lazy: TensorFlow loads only when a model is used."""

from .base import MODELS, LatentModel, ModelSpec, model_descriptions

__all__ = ["MODELS", "LatentModel", "ModelSpec", "model_descriptions"]
