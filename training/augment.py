"""Data augmentation for digits that are not MNIST-clean: shifts, small rotations, scale, stroke thickness."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def geometric_augmenter(seed: int) -> keras.Sequential:
    """Random rotation (±10°), zoom (±10%, independently per axis) and shift (±2 px).

    Mild on purpose: served inputs are already normalised (20x20 box, centre of mass), so
    augmentation only has to cover what normalisation leaves, not raw photos.
    """
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
            layers.RandomZoom((-0.1, 0.1), (-0.1, 0.1), fill_mode="constant", seed=seed + 1),
            layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed + 2),
        ],
        name="geometric_augmenter",
    )


def vary_stroke_thickness(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Per image: thicken (3x3 max filter), thin (3x3 min filter) or keep, with probabilities 0.15, 0.15, 0.7."""
    thick = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    thin = -tf.nn.max_pool2d(-images, ksize=3, strides=1, padding="SAME")
    batch = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed)
    # Some digits vanish under erosion; only thin strokes that survive it.
    survives = tf.reduce_max(thin, axis=[1, 2, 3], keepdims=True) > 0.5
    out = tf.where(choice < 0.15, thick, images)
    return tf.where((choice >= 0.85) & survives, thin, out)


def augment_dataset(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Apply augmentation to a batched (images, labels) dataset, on the fly each epoch."""
    augmenter = geometric_augmenter(seed)
    stroke_seeds = tf.data.Dataset.random(seed=seed).batch(2)

    def apply(batch: tuple[tf.Tensor, tf.Tensor], stroke_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, labels = batch
        images = augmenter(images, training=True)
        images = vary_stroke_thickness(images, seed=stroke_seed)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return tf.data.Dataset.zip((dataset, stroke_seeds)).map(apply, num_parallel_calls=1)
