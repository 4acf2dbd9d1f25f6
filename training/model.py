"""The digit CNN: conv1 -> pool -> conv2 -> pool -> a small classifier head -> softmax over 10."""

from __future__ import annotations

from typing import Literal

import keras
from keras import layers

Head = Literal["original", "wide", "wide-light"]

# (dense units, dropout rate). "original" is the original app's head; the others are kept only
# if they earn their place on the validation split (see models/README.md).
HEADS: dict[str, tuple[int, float]] = {"original": (64, 0.5), "wide": (128, 0.5), "wide-light": (128, 0.25)}


def build_model(head: Head = "original", conv3: int = 0) -> keras.Model:
    """conv1 -> pool -> conv2 -> pool -> [conv3] -> Flatten -> Dense(units, ReLU) -> Dropout -> Dense(10, softmax).

    ``conv3`` filters (0: none) add a third 3x3 convolution on the pooled 5x5 maps; conv1 and
    conv2, the layers the service shows, keep their shapes either way.
    """
    units, dropout = HEADS[head]
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, (3, 3), activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D((2, 2), name="pool1")(x)
    x = layers.Conv2D(64, (3, 3), activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)
    if conv3:
        x = layers.Conv2D(conv3, (3, 3), activation="relu", padding="same", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, activation="relu", name="dense1")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="digits")


def build_serving_model(model: keras.Model) -> keras.Model:
    """The same weights with three outputs from one forward pass: probs, conv1, conv2."""
    return keras.Model(
        inputs=model.inputs,
        outputs={
            "probs": model.get_layer("probs").output,
            "conv1": model.get_layer("conv1").output,
            "conv2": model.get_layer("conv2").output,
        },
        name="digits_serving",
    )
