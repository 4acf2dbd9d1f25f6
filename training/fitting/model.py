"""The digit network: the two layers the site shows, then the capacity around and after them.

    image 28x28x1
    conv1   3x3, 32, valid  -> BN -> ReLU      [26, 26, 32]  (shown: edges and stroke ends)
    pool1   2x2                                [13, 13, 32]
    conv2   3x3, 64, valid  -> BN -> ReLU      [11, 11, 64]  (shown: their combinations)
    conv2b  3x3, 64, same   -> BN -> ReLU      [11, 11, 64]
    pool2   2x2, same                          [6, 6, 64]
    conv3   3x3, 128, same  -> BN -> ReLU      [6, 6, 128]
    conv3b  3x3, 128, same  -> BN -> ReLU      [6, 6, 128]
    conv4   3x3, 256, valid -> BN -> ReLU      [4, 4, 256]
    global average pooling -> dropout -> Dense(11) ``logits`` -> softmax

Eleven classes: the ten digits, then "not a digit" (``training.data.non_digits.NOT_A_DIGIT``).
``conv1`` and ``conv2`` are the names and shapes of the serving contract
(``recognizer.networks.contract``): the ReLU after each normalised convolution, so the feature
maps the site shows stay post-ReLU activations of the first and second convolution.
"""

from __future__ import annotations

import keras
from keras import layers

from recognizer.networks.contract import CLASSES, CONV1_SHAPE, CONV2_SHAPE, INPUT_SHAPE


def _conv(x, filters: int, padding: str, name: str, width: float = 1.0):
    """3x3 convolution (no bias: batch normalisation has one), batch normalisation, ReLU named ``name``."""
    x = layers.Conv2D(max(1, round(filters * width)), 3, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=name)(x)


def build_model(width: float = 1.0, dropout: float = 0.3) -> keras.Model:
    """The training model: softmax over ``CLASSES``. ``width`` scales the layers after conv2
    (conv1 and conv2 keep the contract's 32 and 64 filters)."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = _conv(inputs, CONV1_SHAPE[-1], "valid", "conv1")
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = _conv(x, CONV2_SHAPE[-1], "valid", "conv2")
    x = _conv(x, 64, "same", "conv2b", width)
    x = layers.MaxPooling2D(2, padding="same", name="pool2")(x)
    x = _conv(x, 128, "same", "conv3", width)
    x = _conv(x, 128, "same", "conv3b", width)
    x = _conv(x, 256, "valid", "conv4", width)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(CLASSES, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(logits)
    return keras.Model(inputs, outputs, name="digits")


def build_serving_model(model: keras.Model, temperature: float = 1.0) -> keras.Model:
    """The same weights with the serving outputs from one forward pass (``serving_model``)."""
    return serving_model(
        model.inputs,
        model.get_layer("logits").output,
        model.get_layer("conv1").output,
        model.get_layer("conv2").output,
        temperature,
    )


def serving_model(inputs, logits, conv1, conv2, temperature: float = 1.0) -> keras.Model:
    """Outputs: ``probs`` [N, 10], each digit's probability if it is a digit; ``digit`` [N, 1],
    the probability that it is a digit at all (1 - the eleventh class's); ``conv1`` and
    ``conv2``, the activations the service shows. The logits pass a ``temperature`` layer (a
    Rescaling by 1/temperature) that ``training.calibration.calibrate`` sets afterwards."""
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    not_digit = layers.Softmax(name="classes")(scaled)[:, CLASSES - 1 :]
    return keras.Model(
        inputs=inputs,
        outputs={
            "probs": layers.Softmax(name="probs")(scaled[:, : CLASSES - 1]),
            "digit": layers.Identity(name="digit")(1.0 - not_digit),
            "conv1": conv1,
            "conv2": conv2,
        },
        name="digits_serving",
    )
