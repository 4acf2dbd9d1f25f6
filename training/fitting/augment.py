"""Data augmentation for digits that are not MNIST-clean: shifts, small rotations, scale, slant,
elastic distortion of the strokes, stroke thickness, loops filled as a thick marker fills them."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


def random_affine(
    images: tf.Tensor, seed: tf.Tensor, shear: float, rotation: float, zoom: float, shift: float = 2.0
) -> tf.Tensor:
    """Per image, one affine resampling (bilinear, background outside): a slant (horizontal
    shear up to ``shear``), a rotation (±``rotation`` degrees), a zoom per axis (±``zoom``:
    scale and aspect) and a shift (±``shift`` px), about the centre.

    One transform instead of Keras's four random layers in a row: a quarter of the
    resampling, and the augmentation kept pace with the network on two cores only so.
    """
    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    uniform = tf.random.stateless_uniform([batch, 6], seed=seed, minval=-1.0, maxval=1.0)
    slant = uniform[:, 0] * shear
    angle = uniform[:, 1] * rotation * (3.141592653589793 / 180.0)
    zoom_x, zoom_y = 1.0 + uniform[:, 2] * zoom, 1.0 + uniform[:, 3] * zoom
    shift_x, shift_y = uniform[:, 4] * shift, uniform[:, 5] * shift
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel -> input pixel: zoom, then rotation, then slant, about the centre.
    a00 = zoom_x * (cos + slant * sin)
    a01 = zoom_y * (-sin + slant * cos)
    a10 = zoom_x * sin
    a11 = zoom_y * cos
    centre = (size - 1.0) / 2.0
    a02 = centre - a00 * centre - a01 * centre + shift_x
    a12 = centre - a10 * centre - a11 * centre + shift_y
    zeros = tf.zeros_like(a00)
    transforms = tf.stack([a00, a01, a02, a10, a11, a12, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def max_filter(images: tf.Tensor, size: int, outside: float) -> tf.Tensor:
    """The largest value in each ``size`` x ``size`` neighbourhood, ``outside`` beyond the
    edges. Separable, from shifted slices: ``tf.nn.max_pool2d`` with stride 1 took a second
    per batch on two cores and starved the network of batches."""
    reach = size // 2
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images, [[0, 0], [reach, reach], [0, 0], [0, 0]], constant_values=outside)
    rows = tf.reduce_max(tf.stack([padded[:, i : i + height] for i in range(size)]), axis=0)
    padded = tf.pad(rows, [[0, 0], [0, 0], [reach, reach], [0, 0]], constant_values=outside)
    return tf.reduce_max(tf.stack([padded[:, :, i : i + width] for i in range(size)]), axis=0)


def min_filter(images: tf.Tensor, size: int, outside: float) -> tf.Tensor:
    """The smallest value in each neighbourhood (``max_filter`` of the negative)."""
    return -max_filter(-images, size, -outside)


def vary_stroke_thickness(images: tf.Tensor, seed: tf.Tensor, thick_share: float = 0.15) -> tf.Tensor:
    """Per image: thicken (3x3 max filter) with probability ``thick_share``, thin (3x3 min
    filter, the edges not eroding) with probability 0.15, else keep."""
    thick = max_filter(images, 3, 0.0)
    thin = min_filter(images, 3, 1.0)
    batch = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed)
    # Some digits vanish under erosion; only thin strokes that survive it.
    survives = tf.reduce_max(thin, axis=[1, 2, 3], keepdims=True) > 0.5
    out = tf.where(choice < thick_share, thick, images)
    return tf.where((choice >= 0.85) & survives, thin, out)


def _closing(images: tf.Tensor, size: int) -> tf.Tensor:
    # Background beyond the edges: the erosion must not keep ink that the dilation pushed
    # against the border.
    return min_filter(max_filter(images, size, 0.0), size, 0.0)


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


@dataclass(frozen=True)
class Augmentation:
    """How training images are varied on the fly (shares are of the images of each batch)."""

    shear: float = 0.0
    rotation: float = 10.0
    zoom: float = 0.1
    elastic: float = 0.0
    elastic_share: float = 1.0
    thick_share: float = 0.15
    fill_share: float = 0.0
    low_resolution_share: float = 0.0
    blur_noise_share: float = 0.0
    occlude_share: float = 0.0


def augment_dataset(dataset: tf.data.Dataset, seed: int, augmentation: Augmentation) -> tf.data.Dataset:
    """Apply ``augmentation`` to a batched (images, labels) dataset, on the fly each epoch."""
    a = augmentation
    stroke_seeds = tf.data.Dataset.random(seed=seed).batch(4)

    def apply(batch: tuple[tf.Tensor, tf.Tensor], seeds: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, labels = batch
        if a.elastic > 0:
            # Only a share of the images: the network must still see MNIST's own shapes often.
            warped = elastic_warp(images, seed=seeds[2:], magnitude=a.elastic)
            chosen = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed=seeds[2:] + 1) < a.elastic_share
            images = tf.where(chosen, warped, images)
        images = random_affine(images, seeds[:2] + 29, a.shear, a.rotation, a.zoom)
        if a.fill_share > 0:
            images = fill_like_marker(images, seed=seeds[:2] + 7, share=a.fill_share)
        images = vary_stroke_thickness(images, seed=seeds[:2], thick_share=a.thick_share)
        if a.low_resolution_share > 0:
            images = low_resolution(images, seed=seeds[:2] + 11, share=a.low_resolution_share)
        if a.occlude_share > 0:
            images = occlude(images, seed=seeds[:2] + 17, share=a.occlude_share)
        if a.blur_noise_share > 0:
            images = blur_and_noise(images, seed=seeds[:2] + 23, share=a.blur_noise_share)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return tf.data.Dataset.zip((dataset, stroke_seeds)).map(apply, num_parallel_calls=tf.data.AUTOTUNE)


def _per_image(images: tf.Tensor, seed: tf.Tensor, share: float) -> tf.Tensor:
    """A [N, 1, 1, 1] mask choosing ``share`` of the images."""
    return tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed=seed) < share


def low_resolution(images: tf.Tensor, seed: tf.Tensor, share: float) -> tf.Tensor:
    """Per image, with probability ``share``: drawn in 10 to 16 px (area-averaged, as a scanner
    does), then enlarged back to 28 blockily (nearest) or blurrily (bilinear), one batch at a
    time at one size."""
    size = tf.random.stateless_uniform([], seed=seed, minval=10, maxval=17, dtype=tf.int32)
    small = tf.image.resize(images, [size, size], method="area")
    blocky = tf.random.stateless_uniform([], seed=seed + 1) < 0.5
    enlarged = tf.cond(
        blocky,
        lambda: tf.image.resize(small, [28, 28], method="nearest"),
        lambda: tf.image.resize(small, [28, 28], method="bilinear"),
    )
    return tf.where(_per_image(images, seed + 2, share), enlarged, images)


def blur_and_noise(images: tf.Tensor, seed: tf.Tensor, share: float) -> tf.Tensor:
    """Per image, with probability ``share`` each: a 3x3 blur, and grain (Gaussian, sigma up to
    0.08) with a dimmer stroke (contrast 0.7 to 1)."""
    kernel = tf.constant([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])[..., None, None] / 16.0
    blurred = tf.nn.conv2d(images, kernel, strides=1, padding="SAME")
    out = tf.where(_per_image(images, seed, share), blurred, images)
    batch = tf.shape(images)[0]
    sigma = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 1, maxval=0.08)
    contrast = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 2, minval=0.7, maxval=1.0)
    noisy = out * contrast + sigma * tf.random.stateless_normal(tf.shape(images), seed=seed + 3)
    return tf.where(_per_image(images, seed + 4, share), noisy, out)


def occlude(images: tf.Tensor, seed: tf.Tensor, share: float, largest: int = 6) -> tf.Tensor:
    """Per image, with probability ``share``: a square of 3 to ``largest`` px wiped out
    somewhere in the digit's 20x20 box (a gap in the ink, a glare, a fold). Small on purpose:
    a bigger hole makes a digit another digit (an 8 into a 3) under its old label."""
    batch = tf.shape(images)[0]
    size = tf.random.stateless_uniform([batch, 1, 1], seed=seed, minval=3, maxval=largest + 1, dtype=tf.int32)
    top = tf.random.stateless_uniform([batch, 1, 1], seed=seed + 1, minval=4, maxval=24 - largest, dtype=tf.int32)
    left = tf.random.stateless_uniform([batch, 1, 1], seed=seed + 2, minval=4, maxval=24 - largest, dtype=tf.int32)
    rows = tf.range(28)[None, :, None]
    cols = tf.range(28)[None, None, :]
    hole = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    wiped = tf.where(hole[..., None], tf.zeros_like(images), images)
    return tf.where(_per_image(images, seed + 3, share), wiped, images)
