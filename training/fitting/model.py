"""The digit CNN: conv1 -> pool -> conv2 -> pool -> a small classifier head -> softmax over ten
digits and "not a digit" (``CLASSES``; the eleventh is ``training.data.non_digits.NOT_A_DIGIT``)."""

from __future__ import annotations

from typing import Literal

import keras
from keras import layers, ops

Head = Literal["original", "wide", "wide-light"]

# (dense units, dropout rate). "original" is the original app's head; the others are kept only
# if they earn their place on the validation split (see models/README.md).
HEADS: dict[str, tuple[int, float]] = {"original": (64, 0.5), "wide": (128, 0.5), "wide-light": (128, 0.25)}
CLASSES = 11  # the ten digits, then "not a digit"


def build_model(head: Head = "original", conv3: int = 0) -> keras.Model:
    """conv1 -> pool -> conv2 -> pool -> [conv3] -> Flatten -> Dense(units, ReLU) -> Dropout ->
    Dense(11) ``logits`` -> softmax.

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
    logits = layers.Dense(CLASSES, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(logits)
    return keras.Model(inputs, outputs, name="digits")


def build_serving_model(model: keras.Model, temperature: float = 1.0) -> keras.Model:
    """The same weights with four outputs from one forward pass, the logits divided by the
    calibration ``temperature`` (``serving_model``)."""
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
    Rescaling by 1/temperature) that ``training.calibration.calibrate`` may set afterwards."""
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


def ensemble_serving_model(members: list[keras.Model], digit_only: tuple[keras.Model, ...] = ()) -> keras.Model:
    """One serving model from several trained serving models, ``conv1`` and ``conv2`` from the
    first, so the service's contract and the feature maps it shows do not change.

    Which digit: the members' and the ``digit_only`` networks' log-probabilities over the ten
    digits, averaged (``digit_only`` are ten-class networks from before "not a digit": their
    softmax output). Whether it is a digit: the members' averaged logits alone. The two are put
    back together as eleven logits for the temperature layer: the averaged digit
    log-probabilities and the members' log-odds of "not a digit" against all digits.
    """
    image = keras.Input(shape=(28, 28, 1), name="image")
    member_logits = []
    conv1 = conv2 = None
    for index, member in enumerate(members):
        inner = keras.Model(
            member.inputs,
            [member.get_layer("temperature").input, member.get_layer("conv1").output, member.get_layer("conv2").output],
            name=f"member{index}",
        )
        logits, member_conv1, member_conv2 = inner(image)
        member_logits.append(logits)
        if index == 0:
            conv1, conv2 = member_conv1, member_conv2
    mean = layers.Average(name="mean_logits")(member_logits) if len(member_logits) > 1 else member_logits[0]
    if not digit_only:
        return serving_model(image, mean, conv1, conv2)
    digits = CLASSES - 1
    log_probs = [ops.log_softmax(mean[:, :digits], axis=-1)]
    for index, network in enumerate(digit_only):
        ten = keras.Model(network.inputs, network.outputs[0], name=f"digit_only{index}")(image)
        log_probs.append(ops.log(ops.maximum(ten, 1e-12)))
    weights = [float(len(members))] + [1.0] * len(digit_only)  # each network counts once
    averaged = sum(w * p for w, p in zip(weights, log_probs, strict=True)) / sum(weights)
    not_digit = mean[:, digits:] - ops.logsumexp(mean[:, :digits], axis=-1, keepdims=True)
    logits = ops.concatenate([ops.log_softmax(averaged, axis=-1), not_digit], axis=-1)
    return serving_model(image, logits, conv1, conv2)
