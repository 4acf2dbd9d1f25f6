"""The model contract: the files the service loads and the digit network's signature.

One place for what training writes and serving reads: ``networks/`` loads these names,
``training.export`` writes and checks them, and the Lambda image copies ``SERVED_FILES``
(``functions/Dockerfile`` and ``.dockerignore``, checked against this list by
``tests/infra/test_lambda_image.py``).
"""

from __future__ import annotations

DIGIT_TFLITE = "digits.tflite"  # the served digit network (LiteRT)
DIGIT_KERAS = "digits.keras"  # the same graph for MODEL_BACKEND=keras (not in the image)
THRESHOLD_FILE = "digits.json"  # "not a digit" thresholds and the calibration temperature
PROBE_FILE = "digit_probe.json"  # the digit probe, fitted for one digits.tflite
ROW_READER_FILE = "row_reader.tflite"  # the whole-row reader (LiteRT)
SCENE_TFLITE = "scene.tflite"  # the scene judgement: a photograph, or a picture of writing? (LiteRT)
SCENE_FILE = "scene.json"  # its threshold, and how it was trained

# What the Lambda image carries: everything the LiteRT backend loads.
SERVED_FILES = (DIGIT_TFLITE, THRESHOLD_FILE, PROBE_FILE, ROW_READER_FILE, SCENE_TFLITE, SCENE_FILE)

SIGNATURE_KEY = "serving_default"
INPUT_NAME = "image"
INPUT_SHAPE = (28, 28, 1)  # float32 in [0, 1], white digit on black, as MNIST
CLASSES = 11  # the network's classes: the ten digits, then "not a digit"
CONV1_SHAPE = (26, 26, 32)  # post-ReLU activations the site shows
CONV2_SHAPE = (11, 11, 64)
# Output name -> shape after the batch axis, in the order ``Activations`` holds them.
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "probs": (CLASSES - 1,),  # each digit's probability if the input is a digit
    "digit": (1,),  # the probability that the input is a digit at all
    "conv1": CONV1_SHAPE,
    "conv2": CONV2_SHAPE,
}
OUTPUT_NAMES = tuple(OUTPUT_SHAPES)

# The scene judgement's signature (``networks.scene``).
SCENE_INPUT = "thumbnail"  # float32 [N, 64, 64, 3] in [0, 1]
SCENE_OUTPUT = "photograph"  # float32 [N, 1]: P(a photograph of the world, not writing)
