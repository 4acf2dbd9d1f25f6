"""Decoding uploads: accepted formats and modes, refusals, limits, EXIF orientation, no 5xx."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from recognizer.api.errors import status_of
from recognizer.decoding import (
    decode_upload,
    jpeg_scale,
    pixel_limit,
    sniff_format,
)
from recognizer.errors import (
    ClientError,
    InvalidImage,
    TooManyPixels,
    UnsupportedMediaType,
)
from recognizer.vision.geometry import UPLOAD_SIZE_KEY
from tests.uploads import encode

LIMIT = 25_000_000


def page() -> np.ndarray:
    """A 60x40 white page with a black bar in its top-left quarter (to check orientation)."""
    pixels = np.full((40, 60), 255, dtype=np.uint8)
    pixels[4:12, 6:24] = 0
    return pixels


def decoded_grey(data: bytes, **kwargs) -> np.ndarray:
    image = decode_upload(data, max_pixels=LIMIT, **kwargs)
    assert image.mode in ("L", "RGB")
    return np.asarray(image.convert("L"), dtype=np.float32)


def assert_is_page(grey: np.ndarray) -> None:
    assert grey.shape == (40, 60)
    assert grey[4:12, 6:24].mean() < 60, "the bar should be dark"
    assert grey[20:, 30:].mean() > 200, "the paper should be light"


# Accepted formats ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mode", "params"),
    [
        ("PNG", "L", {}),
        ("PNG", "RGB", {}),
        ("PNG", "1", {}),
        ("PNG", "P", {}),
        ("JPEG", "L", {"quality": 95}),
        ("JPEG", "RGB", {"quality": 95}),
        ("JPEG", "CMYK", {"quality": 95}),
        ("WEBP", "RGB", {"lossless": True}),
        ("GIF", "P", {}),
        ("BMP", "RGB", {}),
        ("TIFF", "L", {"compression": "tiff_lzw"}),
        ("TIFF", "RGB", {}),
        ("TIFF", "CMYK", {}),
        ("HEIF", "RGB", {"quality": 90}),
        ("AVIF", "RGB", {"quality": 90}),
    ],
)
def test_every_accepted_format_and_mode_decodes_to_8bit(fmt: str, mode: str, params: dict) -> None:
    image = Image.fromarray(page()).convert(mode)
    assert_is_page(decoded_grey(encode(image, fmt, **params)))


def test_16bit_grey_is_scaled_by_its_full_range() -> None:
    values = (page().astype(np.uint16) * 257).astype(np.uint16)
    values[30:, :10] = 32768  # mid grey
    grey = decoded_grey(encode(Image.fromarray(values), "PNG"))
    assert_is_page(grey)
    assert abs(grey[35, 5] - 128) <= 1


def test_32bit_integer_and_float_images_are_scaled() -> None:
    as_int = Image.fromarray(page().astype(np.int32) * 256)  # 0..65280 in mode I
    assert_is_page(decoded_grey(encode(as_int, "TIFF")))
    as_float = Image.fromarray(page().astype(np.float32) / 255.0)  # 0..1 in mode F
    assert as_float.mode == "F"
    assert_is_page(decoded_grey(encode(as_float, "TIFF")))


def test_gif_and_tiff_give_their_first_frame() -> None:
    first = Image.fromarray(page())
    blank = Image.new("L", first.size, 255)
    buffer = io.BytesIO()
    first.convert("P").save(buffer, format="GIF", save_all=True, append_images=[blank.convert("P")])
    assert_is_page(decoded_grey(buffer.getvalue()))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[blank])
    assert_is_page(decoded_grey(buffer.getvalue()))


# Transparency ----------------------------------------------------------------------------


def strokes_alpha() -> np.ndarray:
    alpha = np.zeros((40, 60), dtype=np.uint8)
    alpha[4:12, 6:24] = 255
    return alpha


@pytest.mark.parametrize("under", [0, 255], ids=["transparent-black", "transparent-white"])
def test_black_strokes_on_transparent_canvas_become_dark_on_light(under: int) -> None:
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[..., :3] = under
    rgba[4:12, 6:24, :3] = 0
    rgba[..., 3] = strokes_alpha()
    assert_is_page(decoded_grey(encode(Image.fromarray(rgba), "PNG")))


def test_white_strokes_on_transparent_canvas_stay_visible() -> None:
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = strokes_alpha()
    grey = decoded_grey(encode(Image.fromarray(rgba), "PNG"))
    assert grey[4:12, 6:24].mean() > 200 and grey[20:, 30:].mean() < 60


def test_la_and_palette_transparency_are_composited() -> None:
    la = np.stack([np.zeros((40, 60), np.uint8), strokes_alpha()], axis=-1)
    assert_is_page(decoded_grey(encode(Image.fromarray(la, mode="LA"), "PNG")))
    indices = (strokes_alpha() > 0).astype(np.uint8)
    palette = Image.fromarray(indices, mode="P")
    palette.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)  # both entries black, entry 0 transparent
    assert_is_page(decoded_grey(encode(palette, "PNG", transparency=0)))


def test_semi_transparent_antialiasing_is_blended() -> None:
    rgba = np.zeros((40, 60, 4), dtype=np.uint8)
    rgba[..., 3] = 0
    rgba[20, 20, 3] = 128
    rgba[4:12, 6:24, 3] = 255
    grey = decoded_grey(encode(Image.fromarray(rgba), "PNG"))
    assert 110 <= grey[20, 20] <= 145


# EXIF orientation ------------------------------------------------------------------------

STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(STORE_FOR_ORIENTATION))
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = Image.fromarray(page())
    transform = STORE_FOR_ORIENTATION[orientation]
    stored = upright.transpose(transform) if transform is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    image = decode_upload(data, max_pixels=LIMIT)
    assert image.info[UPLOAD_SIZE_KEY] == (60, 40)
    assert_is_page(np.asarray(image.convert("L"), dtype=np.float32))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_phone_formats_are_turned_upright_once(fmt: str, orientation: int) -> None:
    """An iPhone's HEIC carries its rotation as a transform (pillow-heif applies it and says
    orientation 1); an AVIF may carry it in EXIF: either way the page comes out upright, once."""
    upright = Image.fromarray(page()).convert("RGB")
    stored = upright.transpose(STORE_FOR_ORIENTATION[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, fmt, quality=95, exif=exif.tobytes())
    assert sniff_format(data).accepted
    image = decode_upload(data, max_pixels=LIMIT)
    assert image.info[UPLOAD_SIZE_KEY] == (60, 40)
    assert_is_page(np.asarray(image.convert("L"), dtype=np.float32))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_big_phone_photo_is_decoded_whole_then_reduced_within_the_budget(fmt: str) -> None:
    pixels = np.full((1200, 1600), 255, dtype=np.uint8)
    pixels[200:400, 300:900] = 0
    data = encode(Image.fromarray(pixels).convert("RGB"), fmt, quality=80)
    image = decode_upload(data, max_pixels=LIMIT, max_decoded_pixels=500_000)
    assert image.width * image.height <= 500_000
    assert image.info[UPLOAD_SIZE_KEY] == (1600, 1200)  # boxes stay in the photo's own pixels
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    scale = 1600 / image.width
    assert grey[int(250 / scale) : int(350 / scale), int(400 / scale) : int(800 / scale)].mean() < 60
    # A quarter of the JPEG limit is theirs: over it, refused from the header.
    with pytest.raises(TooManyPixels):
        decode_upload(data, max_pixels=4 * 1600 * 1200 - 4)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_means_no_rotation_not_an_error() -> None:
    data = bytearray(encode(Image.fromarray(page()), "JPEG", quality=95, exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff"))
    assert_is_page(decoded_grey(bytes(data)))


# Refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP"),
        (b"just some text, not an image\n", "text"),
        (b'{"image": "nope"}', "JSON"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "ISO media ('mp42')"),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "ICO"),
        (bytes(range(256)) * 4, "unrecognised"),
    ],
)
def test_not_an_image_we_read_is_415_naming_what_was_seen(data: bytes, named: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_upload(data, max_pixels=LIMIT)
    assert status_of(caught.value) == 415
    assert named in caught.value.message


def test_format_is_sniffed_from_bytes_not_trusted_from_elsewhere() -> None:
    assert sniff_format(encode(Image.fromarray(page()), "PNG")).name == "PNG"
    assert sniff_format(encode(Image.fromarray(page()), "WEBP")).name == "WebP"
    assert sniff_format(encode(Image.fromarray(page()).convert("RGB"), "HEIF")).name == "HEIC"
    assert sniff_format(encode(Image.fromarray(page()).convert("RGB"), "AVIF")).name == "AVIF"
    assert not sniff_format(b"GIF8").accepted


def test_empty_upload_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        decode_upload(b"", max_pixels=LIMIT)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_truncated_image_is_422(fmt: str) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(InvalidImage) as caught:
        decode_upload(data[: len(data) // 2], max_pixels=LIMIT)
    assert status_of(caught.value) == 422


def test_signature_followed_by_garbage_is_422() -> None:
    with pytest.raises(InvalidImage):
        decode_upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, max_pixels=LIMIT)


# Limits ----------------------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` but holds almost no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = zlib.compress(b"\x00" * 16)
    idat = struct.pack(">I", len(data)) + b"IDAT" + data + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + iend


def test_too_many_pixels_is_413_from_the_header_alone() -> None:
    with pytest.raises(TooManyPixels) as caught:
        decode_upload(png_declaring(6000, 5000), max_pixels=LIMIT)
    assert status_of(caught.value) == 413
    assert "30,000,000" in caught.value.message


def test_a_decompression_bomb_past_pillows_own_limit_is_413() -> None:
    with pytest.raises(TooManyPixels):
        decode_upload(png_declaring(60000, 60000), max_pixels=10**12)


def test_a_size_past_pillows_backstop_is_refused_in_our_words_and_without_its_warning() -> None:
    """Pillow warns of 2^28 to 2^29 pixels (on stderr: the CLI printed it before its own error);
    our limit refuses it, from the same header, in the upload's words."""
    assert Image.MAX_IMAGE_PIXELS == 1 << 28
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(TooManyPixels) as caught:
            decode_upload(png_declaring(20000, 15000), max_pixels=LIMIT)
    assert caught.value.message.startswith("20000x15000 = 300,000,000 pixels; at most")
    assert [str(w.message) for w in seen if issubclass(w.category, Image.DecompressionBombWarning)] == []


def test_the_limit_is_inclusive_and_configurable() -> None:
    data = encode(Image.fromarray(page()), "PNG")
    assert decode_upload(data, max_pixels=60 * 40).size == (60, 40)
    with pytest.raises(TooManyPixels):
        decode_upload(data, max_pixels=60 * 40 - 1)


def test_jpeg_draft_decodes_smaller_and_remembers_the_upload_size() -> None:
    big = Image.fromarray(np.kron(page(), np.ones((40, 40), dtype=np.uint8)))  # 2400x1600
    image = decode_upload(encode(big, "JPEG", quality=90), max_pixels=LIMIT, draft_side=300)
    assert image.info[UPLOAD_SIZE_KEY] == (2400, 1600)
    assert 300 <= min(image.size) < 1600
    assert image.size[0] / image.size[1] == pytest.approx(1.5)


def test_formats_decoded_in_full_have_the_smaller_limit_and_jpeg_the_larger() -> None:
    big = Image.fromarray(np.kron(page(), np.ones((40, 40), dtype=np.uint8)))  # 2400x1600
    for fmt in ("PNG", "GIF", "BMP", "TIFF", "WEBP"):
        with pytest.raises(TooManyPixels) as caught:
            decode_upload(encode(big, fmt), max_pixels=LIMIT, max_decoded_pixels=2_000_000)
        assert "at most 2,000,000" in caught.value.message and "a JPEG may have up to" in caught.value.message
    image = decode_upload(encode(big, "JPEG", quality=90), max_pixels=LIMIT, max_decoded_pixels=2_000_000)
    assert image.size == (1200, 800)  # decoded at 1/2: the largest scale within 2,000,000 pixels
    assert image.info[UPLOAD_SIZE_KEY] == (2400, 1600)
    assert_is_page(np.asarray(image.convert("L").resize((60, 40), Image.Resampling.BOX), dtype=np.float32))


def test_a_jpeg_over_the_declared_limit_is_refused_whatever_its_scale() -> None:
    data = encode(Image.new("L", (300, 200), 255), "JPEG")
    with pytest.raises(TooManyPixels):
        decode_upload(data, max_pixels=300 * 200 - 1, max_decoded_pixels=10**9)


def test_pixel_limit_per_format() -> None:
    assert pixel_limit("JPEG", 25_000_000, 4_194_304) == 25_000_000
    assert pixel_limit("PNG", 25_000_000, 4_194_304) == 4_194_304
    assert pixel_limit("PNG", 25_000_000, None) == 25_000_000
    assert pixel_limit("WEBP", 25_000_000, None) == 6_250_000  # three RGBA copies while decoding
    assert pixel_limit("WEBP", 25_000_000, 4_194_304) == 4_194_304


@pytest.mark.parametrize(
    ("size", "draft_side", "budget", "scale"),
    [
        ((5000, 5000), None, 4_194_304, 4),  # 1250 x 1250
        ((4032, 3024), None, 4_194_304, 2),  # a phone photo: 2016 x 1512
        ((2048, 2048), None, 4_194_304, 1),
        ((65_000, 380), None, 4_194_304, 4),  # a long strip: 16250 x 95
        ((65_000, 65_000), None, 4_194_304, 8),  # nothing fits: as small as libjpeg goes
        ((4032, 3024), 512, 4_194_304, 4),  # draft_side allows more reduction: taken
        ((4032, 3024), 2000, 4_194_304, 2),  # the budget wins over draft_side
        ((800, 600), None, None, 1),
    ],
)
def test_jpeg_scale(size: tuple[int, int], draft_side: int | None, budget: int | None, scale: int) -> None:
    assert jpeg_scale(size, draft_side, budget) == scale


# Never a server error --------------------------------------------------------------------


def test_mutated_images_raise_only_client_errors() -> None:
    rng = np.random.default_rng(7)
    noisy = Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8))
    sources = [encode(noisy, fmt) for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")]
    for trial in range(300):
        data = bytearray(sources[trial % len(sources)])
        for _ in range(int(rng.integers(1, 6))):
            position = int(rng.integers(0, len(data)))
            data[position] = int(rng.integers(0, 256))
        if trial % 3 == 0:
            data = data[: int(rng.integers(1, len(data)))]
        try:
            image = decode_upload(bytes(data), max_pixels=LIMIT)
        except ClientError as error:
            assert 400 <= status_of(error) < 500
        else:
            assert image.mode in ("L", "RGB")


def test_a_200_megapixel_camera_jpeg_is_within_the_default_limits() -> None:
    from recognizer.settings import Settings

    defaults = Settings()
    assert pixel_limit("JPEG", defaults.max_image_pixels, defaults.max_decoded_pixels) >= 200_000_000
    # ...decoded at 1/8 scale, within the decoded budget.
    size = (16_330, 12_250)
    scale = jpeg_scale(size, None, defaults.max_decoded_pixels)
    assert scale == 8 and -(-size[0] // scale) * -(-size[1] // scale) <= defaults.max_decoded_pixels
    # A 48-megapixel HEIC, decoded whole, is within its quarter.
    assert pixel_limit("HEIF", defaults.max_image_pixels, defaults.max_decoded_pixels) >= 48_000_000
