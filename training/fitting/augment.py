"""Data augmentation for digits that are not MNIST-clean: shifts, small rotations, scale, slant,
elastic distortion of the strokes, stroke thickness, loops filled as a thick marker fills them."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def geometric_augmenter(seed: int, shear: float = 0.0) -> keras.Sequential:
    """Random slant (horizontal shear up to ``shear``), rotation (±10°), zoom (±10%,
    independently per axis) and shift (±2 px).

    Mild on purpose: served inputs are already normalised (20x20 box, centre of mass), so
    augmentation only has to cover what normalisation leaves, not raw photos.
    """
    slant = [layers.RandomShear(x_factor=shear, fill_mode="constant", seed=seed + 3)] if shear > 0 else []
    return keras.Sequential(
        [
            *slant,
            layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
            layers.RandomZoom((-0.1, 0.1), (-0.1, 0.1), fill_mode="constant", seed=seed + 1),
            layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed + 2),
        ],
        name="geometric_augmenter",
    )


def vary_stroke_thickness(images: tf.Tensor, seed: tf.Tensor, thick_share: float = 0.15) -> tf.Tensor:
    """Per image: thicken (3x3 max filter) with probability ``thick_share``, thin (3x3 min
    filter) with probability 0.15, else keep."""
    thick = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    thin = -tf.nn.max_pool2d(-images, ksize=3, strides=1, padding="SAME")
    batch = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed)
    # Some digits vanish under erosion; only thin strokes that survive it.
    survives = tf.reduce_max(thin, axis=[1, 2, 3], keepdims=True) > 0.5
    out = tf.where(choice < thick_share, thick, images)
    return tf.where((choice >= 0.85) & survives, thin, out)


def _closing(images: tf.Tensor, size: int) -> tf.Tensor:
    # Background beyond the edges: pooling's own padding would let the erosion keep ink that
    # the dilation pushed against the border.
    pad = size // 2
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    dilated = tf.nn.max_pool2d(padded, ksize=size, strides=1, padding="SAME")
    closed = -tf.nn.max_pool2d(-dilated, ksize=size, strides=1, padding="SAME")
    return closed[:, pad:-pad, pad:-pad, :]


def fill_like_marker(images: tf.Tensor, seed: tf.Tensor, share: float) -> tf.Tensor:
    """Per image, with probability ``share``: a grey closing (dilate, then erode), 3x3 or 5x5
    (half each), which fills gaps and loops up to 2 or 4 px across.

    A thick marker fills small loops and narrow gaps; the service then thins its strokes back
    to MNIST widths, so what the network is fed has MNIST strokes around filled loops, which a
    closing makes from an MNIST digit. Plain dilation (``vary_stroke_thickness``) cannot: its
    strokes stay thick, unlike anything the service feeds the network.
    """
    choice = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed=seed)
    out = tf.where(choice < share / 2, _closing(images, 3), images)
    return tf.where((choice >= share / 2) & (choice < share), _closing(images, 5), out)


def elastic_warp(images: tf.Tensor, seed: tf.Tensor, magnitude: float, grid: int = 4) -> tf.Tensor:
    """Smooth random displacement of every pixel (up to about ``magnitude`` px), as hands bend
    strokes: a coarse ``grid`` x ``grid`` field of random shifts, upsampled bicubically, then
    bilinear resampling. (keras' RandomElasticTransform takes ~1 s per batch on CPU.)"""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    coarse = tf.random.stateless_normal([batch, grid, grid, 2], seed=seed) * (magnitude / 2)
    field = tf.image.resize(coarse, [height, width], method="bicubic")
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    src_y = ys[None] + field[..., 0]
    src_x = xs[None] + field[..., 1]
    y0, x0 = tf.floor(src_y), tf.floor(src_x)
    wy, wx = src_y - y0, src_x - x0
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # zeros outside: background
    flat = tf.reshape(padded, [batch, -1])
    stride = width + 2

    def tap(dy: float, dx: float) -> tf.Tensor:
        y = tf.cast(tf.clip_by_value(y0 + dy + 1, 0, tf.cast(height + 1, tf.float32)), tf.int32)
        x = tf.cast(tf.clip_by_value(x0 + dx + 1, 0, tf.cast(width + 1, tf.float32)), tf.int32)
        return tf.gather(flat, tf.reshape(y * stride + x, [batch, -1]), batch_dims=1)

    top = tf.reshape(tap(0, 0), tf.shape(wx)) * (1 - wx) + tf.reshape(tap(0, 1), tf.shape(wx)) * wx
    bottom = tf.reshape(tap(1, 0), tf.shape(wx)) * (1 - wx) + tf.reshape(tap(1, 1), tf.shape(wx)) * wx
    return ((1 - wy) * top + wy * bottom)[..., None]


def augment_dataset(
    dataset: tf.data.Dataset,
    seed: int,
    shear: float = 0.0,
    elastic: float = 0.0,
    elastic_share: float = 1.0,
    thick_share: float = 0.15,
    fill_share: float = 0.0,
) -> tf.data.Dataset:
    """Apply augmentation to a batched (images, labels) dataset, on the fly each epoch."""
    augmenter = geometric_augmenter(seed, shear)
    stroke_seeds = tf.data.Dataset.random(seed=seed).batch(4)

    def apply(batch: tuple[tf.Tensor, tf.Tensor], seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, labels = batch
        if elastic > 0:
            # Only a share of the images: the network must still see MNIST's own shapes often.
            warped = elastic_warp(images, seed=seeds[2:], magnitude=elastic)
            chosen = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed=seeds[2:] + 1) < elastic_share
            images = tf.where(chosen, warped, images)
        images = augmenter(images, training=True)
        if fill_share > 0:
            images = fill_like_marker(images, seed=seeds[:2] + 7, share=fill_share)
        images = vary_stroke_thickness(images, seed=seeds[:2], thick_share=thick_share)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return tf.data.Dataset.zip((dataset, stroke_seeds)).map(apply, num_parallel_calls=1)
