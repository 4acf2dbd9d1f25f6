"""Uploaded bytes -> a Pillow image in mode ``L`` or ``RGB``, upright, opaque, 8-bit.

Uploads are untrusted: the format is recognised from the bytes (never from a file name or a
Content-Type), only raster formats we mean to serve are handed to Pillow, the pixel count is
checked from the header before any pixel data is decoded, and every parser failure becomes a
``ClientError`` (4xx), never a 5xx.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops

from recognizer.errors import (
    ClientError,
    InvalidImage,
    TooManyPixels,
    UnsupportedMediaType,
)
from recognizer.settings import Settings
from recognizer.vision.geometry import UPLOAD_SIZE_KEY

ACCEPTED = "PNG, JPEG, HEIC/HEIF, AVIF, WebP, GIF, BMP or TIFF"

# Pillow plugin names of the formats we accept; Image.open tries no other parser. AVIF is
# Pillow's own; HEIF (an iPhone's HEIC photos) is pillow-heif's, registered with Pillow when
# the first HEIC arrives (its import costs a cold start ~0.2 s; Pillow's plugin registry is
# process-wide by design, and registering twice is harmless).
PILLOW_FORMATS = ("PNG", "JPEG", "HEIF", "AVIF", "WEBP", "GIF", "BMP", "TIFF")


def _registered(formats: tuple[str, ...]) -> list[str]:
    """Those of ``formats`` Pillow has a plugin for now (HEIF only once a HEIC has come)."""
    Image.init()
    return [name for name in formats if name in Image.OPEN]


def _read_heif_too() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


# Pillow's own backstop refuses twice this many pixels (it was 179 million, under a 200-megapixel
# camera's JPEG, which ours accept: decoded at 1/8 scale). Our limits, per format, come first.
Image.MAX_IMAGE_PIXELS = 1 << 28


@dataclass(frozen=True)
class Sniffed:
    accepted: bool
    name: str


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(sample) - 3:
            return False
    return True


def sniff_format(head: bytes) -> Sniffed:
    """Name the format the first bytes announce, and whether we accept it."""
    signatures: tuple[tuple[bytes, int, str, bool], ...] = (
        (b"\x89PNG\r\n\x1a\n", 0, "PNG", True),
        (b"\xff\xd8\xff", 0, "JPEG", True),
        (b"GIF87a", 0, "GIF", True),
        (b"GIF89a", 0, "GIF", True),
        (b"BM", 0, "BMP", True),
        (b"II*\x00", 0, "TIFF", True),
        (b"MM\x00*", 0, "TIFF", True),
        (b"II+\x00", 0, "BigTIFF", False),
        (b"MM\x00+", 0, "BigTIFF", False),
        (b"%PDF", 0, "PDF", False),
        (b"PK\x03\x04", 0, "ZIP archive", False),
        (b"PK\x05\x06", 0, "ZIP archive", False),
        (b"\x1f\x8b", 0, "gzip data", False),
        (b"7z\xbc\xaf\x27\x1c", 0, "7z archive", False),
        (b"Rar!", 0, "RAR archive", False),
        (b"\x00\x00\x01\x00", 0, "ICO", False),
        (b"8BPS", 0, "Photoshop PSD", False),
        (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000", False),
        (b"\xff\x4f\xff\x51", 0, "JPEG 2000", False),
        (b"\xff\x0a", 0, "JPEG XL", False),
        (b"\x00\x00\x00\x0cJXL ", 0, "JPEG XL", False),
        (b"qoif", 0, "QOI", False),
        (b"\x7fELF", 0, "ELF executable", False),
        (b"MZ", 0, "Windows executable", False),
        (b"OggS", 0, "Ogg media", False),
        (b"ID3", 0, "MP3 audio", False),
        (b"\x1aE\xdf\xa3", 0, "Matroska/WebM video", False),
        (b"%!PS", 0, "PostScript", False),
    )
    for magic, offset, name, accepted in signatures:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(accepted, name)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(True, "WebP")
    if head[:4] == b"RIFF":
        return Sniffed(False, f"RIFF {head[8:12].decode('latin-1')!r} data")
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        if brand in _HEIF_BRANDS:
            return Sniffed(True, _HEIF_BRANDS[brand])
        return Sniffed(False, f"ISO media ({brand!r})")
    if _looks_like_text(head):
        text = head[:1024].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
        if "<svg" in text:
            return Sniffed(False, "SVG")
        if text.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in text:
            return Sniffed(False, "HTML")
        if text.startswith("<?xml") or text.startswith("<"):
            return Sniffed(False, "XML")
        if text.startswith(("{", "[")):
            return Sniffed(False, "JSON")
        if text.startswith("data:image"):
            return Sniffed(False, "a data: URL (send the decoded bytes)")
        return Sniffed(False, "text")
    return Sniffed(False, f"unrecognised data starting {head[:8].hex(' ')}")


# ISO media brands of still images we read (a video's brands, mp4 or qt, are refused).
_HEIF_BRANDS = {
    "avif": "AVIF",
    "avis": "AVIF",
    "heic": "HEIC",
    "heix": "HEIC",
    "heim": "HEIC",
    "heis": "HEIC",
    "hevc": "HEIC",
    "hevx": "HEIC",
    "mif1": "HEIF",
    "msf1": "HEIF",
}


def _refuse_unsupported(data: bytes) -> str:
    sniffed = sniff_format(data[:1024])
    if not sniffed.accepted:
        raise UnsupportedMediaType(f"this looks like {sniffed.name}, not an image we read; send {ACCEPTED}")
    if sniffed.name in ("HEIC", "HEIF"):
        _read_heif_too()
    return sniffed.name


# Pillow's WebP decoder holds three RGBA copies of the picture (its canvas, the frame it hands
# over, the image): 12 bytes a pixel where the other formats take at most 4, so a WebP gets a
# quarter of the declared-pixel budget and a 25-megapixel WebP bomb of 1 kB cannot take 300 MB.
_PIXEL_COST = {"WEBP": 4}
_JPEG_SCALES = (1, 2, 4, 8)  # the reductions libjpeg can apply while decoding (DCT scaling)
# HEIC and AVIF photos have no reduced decoding: they are decoded whole (3 bytes a pixel, and
# the decoder's own planes), then reduced. A quarter of a JPEG's pixel limit (67 megapixels by
# default) reads every phone camera's photos; a hostile file of that size (1 kB of AVIF, 40 kB
# of HEIC) answered whole peaks at 650 MB (AVIF) and 531 MB (HEIC), as template.yaml says
# beside MemorySize (`python -m infra.measure_decode`; tests/infra/test_measure_decode.py).
_PHOTO_FORMATS = ("HEIF", "AVIF")
_PHOTO_SHARE = 4


def pixel_limit(image_format: str, max_pixels: int, max_decoded_pixels: int | None) -> int:
    """Most pixels an upload of ``image_format`` may declare.

    A JPEG may declare up to ``max_pixels``: it is decoded straight to a reduced scale. Every
    other format is decoded at full size, so ``max_decoded_pixels`` bounds it too.
    """
    if image_format in _PHOTO_FORMATS:
        return max_pixels // _PHOTO_SHARE
    limit = max_pixels // _PIXEL_COST.get(image_format, 1)
    if image_format != "JPEG" and max_decoded_pixels is not None:
        limit = min(limit, max_decoded_pixels)
    return limit


def _open_checked(data: bytes, kind: str, max_pixels: int, max_decoded_pixels: int | None) -> Image.Image:
    """Parse the header only and refuse oversized images before any pixel data is decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (on stderr) of a size between its backstop and twice it before it
            # refuses; our limit, checked next from the same header, says it in the upload's words.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_registered(PILLOW_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(f"the {kind} declares too many pixels ({exc})") from exc
    except Exception as exc:  # untrusted parser: any failure is the upload's fault
        raise InvalidImage(f"the {kind} data is corrupt or truncated ({type(exc).__name__})") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImage(f"the {kind} declares an empty size {width}x{height}")
    limit = pixel_limit(image.format or "", max_pixels, max_decoded_pixels)
    if width * height > limit:
        hint = "" if image.format == "JPEG" or limit >= max_pixels else f" (a JPEG may have up to {max_pixels:,})"
        raise TooManyPixels(
            f"{width}x{height} = {width * height:,} pixels; at most {limit:,} are accepted in a {kind}{hint}"
        )
    return image


def jpeg_scale(size: tuple[int, int], draft_side: int | None, max_decoded_pixels: int | None) -> int:
    """The DCT reduction (1, 2, 4 or 8) to decode a JPEG of ``size`` at: as much as keeps both
    sides at least ``draft_side`` long, and at least as much as fits ``max_decoded_pixels``."""
    width, height = size
    scale = 1
    if draft_side:
        scale = max(s for s in _JPEG_SCALES if s == 1 or min(width, height) // s >= draft_side)
    if max_decoded_pixels:
        fitting = [s for s in _JPEG_SCALES if -(-width // s) * -(-height // s) <= max_decoded_pixels]
        scale = max(scale, fitting[0] if fitting else _JPEG_SCALES[-1])
    return scale


def _load_first_frame(
    image: Image.Image, kind: str, draft_side: int | None, max_decoded_pixels: int | None
) -> Image.Image:
    if image.format == "JPEG":
        scale = jpeg_scale(image.size, draft_side, max_decoded_pixels)
        if scale > 1:
            # DCT-domain downscaling while decoding: a phone photo decodes in a fraction of
            # the time and memory. Pillow picks the largest reduction the requested size allows.
            image.draft(None, (image.width // scale, image.height // scale))
    try:
        with warnings.catch_warnings():
            # A frame bigger than the header said (GIF) is refused here, not warned of on stderr.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(f"the {kind} expands to too many pixels ({exc})") from exc
    except Exception as exc:  # untrusted parser: truncated files raise OSError, others vary
        raise InvalidImage(f"the {kind} data is corrupt or truncated ({type(exc).__name__}: {exc})") from exc
    if image.format in _PHOTO_FORMATS and max_decoded_pixels and image.width * image.height > max_decoded_pixels:
        # Decoded whole; reduced at once (box averaging by a whole factor) so that what follows
        # works on at most max_decoded_pixels, as for a JPEG decoded at reduced scale.
        factor = int(np.ceil(np.sqrt(image.width * image.height / max_decoded_pixels)))
        reduced = image.reduce(factor)
        reduced.info.update(image.info)
        return reduced
    return image


# Exif orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Whole-image float maths on a 25-megapixel upload takes gigabytes (a 1 kB WebP or a 20 kB GIF
# can declare that many pixels): conversions run over strips of about this many pixels.
_STRIP_PIXELS = 1 << 18


def _upright(image: Image.Image, exif_source: Image.Image) -> Image.Image:
    """Apply ``exif_source``'s EXIF orientation to ``image`` (the 8-bit result, the cheapest
    to turn); a corrupt EXIF block means no rotation, not an error."""
    try:
        orientation = exif_source.getexif().get(0x0112, 1)
    except Exception:  # corrupt EXIF from arbitrary cameras/editors: keep the pixels as stored
        return image
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def _strip_boxes(image: Image.Image) -> Iterator[tuple[int, int, int, int]]:
    """Boxes of a few whole rows covering the image, top to bottom."""
    rows = max(1, _STRIP_PIXELS // max(1, image.width))
    for top in range(0, image.height, rows):
        yield 0, top, image.width, min(image.height, top + rows)


def _by_strips(image: Image.Image, convert: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """``convert`` applied a strip at a time into one 8-bit L image: the only full-size copy."""
    result = Image.new("L", image.size)
    for box in _strip_boxes(image):
        result.paste(convert(image.crop(box)), box)
    return result


def _finite_range(image: Image.Image) -> tuple[float, float] | None:
    """Lowest and highest value, non-finite ones counted as 0; None if none is finite."""
    low, high, any_finite = np.inf, -np.inf, False
    for box in _strip_boxes(image):
        values = np.asarray(image.crop(box), dtype=np.float64)
        finite = np.isfinite(values)
        if finite.any():
            any_finite = True
            low, high = min(low, float(values[finite].min())), max(high, float(values[finite].max()))
        if not finite.all():
            low, high = min(low, 0.0), max(high, 0.0)
    return (low, high) if any_finite else None


def _scaled_to_8bit(image: Image.Image, declared_max: float | None) -> Image.Image:
    """High bit-depth grey (I;16, I, F) as 8-bit L: by the declared range, else the data's own."""
    if declared_max is not None:
        low, top = 0.0, declared_max
    else:
        found = _finite_range(image)
        if found is None:
            return Image.new("L", image.size, 0)
        low, high = found
        if low >= 0.0 and high <= 1.0:
            top = 1.0  # float images in [0, 1]
        elif low >= 0.0 and high <= 255.0:
            top = 255.0
        elif low >= 0.0 and high <= 65535.0:
            top = 65535.0
        else:
            top = high
        if top <= low:  # a flat image (all 1.0, say) has no range to divide by: it comes out black
            top = low + 1.0

    def scaled(strip: Image.Image) -> Image.Image:
        values = np.array(strip, dtype=np.float64)  # a copy of its own: scaled in place
        values[~np.isfinite(values)] = 0.0
        values -= low
        values *= 255.0 / (top - low)
        np.clip(values, 0.0, 255.0, out=values)
        return Image.fromarray(np.rint(values, out=values).astype(np.uint8), mode="L")

    return _by_strips(image, scaled)


def _clearness(strip: Image.Image) -> Image.Image:
    """How transparent each pixel is, as L (255: fully transparent)."""
    if strip.mode in ("RGBA", "LA"):
        # ImageChops, not point() with a table: point() rounds its 256 entries in Python on every call.
        return ImageChops.invert(strip.getchannel("A"))
    key = strip.info["transparency"]
    if strip.mode == "P":
        if isinstance(key, int):  # one palette entry is transparent (GIF, PNG)
            lut = [255 if index == key else 0 for index in range(256)]
        else:  # an alpha per palette entry (PNG tRNS); the entries after it are opaque
            alphas = list(key)
            lut = [255 - alphas[index] if index < len(alphas) else 0 for index in range(256)]
        return strip.point(lut, "L")
    # L or RGB with one colour keyed as transparent (a PNG tRNS chunk).
    pixels = np.asarray(strip)
    match = pixels == np.asarray(key, dtype=pixels.dtype)
    keyed = match.all(axis=-1) if match.ndim == 3 else match
    return Image.fromarray(np.where(keyed, 255, 0).astype(np.uint8), mode="L")


def _composite_transparency(image: Image.Image) -> Image.Image:
    """Flatten alpha onto a background that contrasts with what is drawn, as L.

    A canvas drawing is often black strokes on a fully transparent (black) background, so the
    colour under the strokes says nothing; the alpha does. The background is chosen opposite to
    the opaque pixels' own brightness: dark strokes land on white, light strokes on black.
    (Compositing the grey level is compositing the colours, then taking the grey level.)
    """
    if image.mode not in ("RGBA", "LA", "P", "L", "RGB"):
        image = image.convert("RGBA")  # RGBa, La, PA: rare enough to pay for a copy
    weight = weighted = 0.0
    for box in _strip_boxes(image):
        strip = image.crop(box)
        alpha = 255.0 - np.asarray(_clearness(strip), dtype=np.float32)
        weight += float(alpha.sum(dtype=np.float64))
        weighted += float((np.asarray(strip.convert("L"), dtype=np.float32) * alpha).sum(dtype=np.float64))
    opaque_brightness = weighted / weight if weight > 0 else 255.0
    background = 255 if opaque_brightness < 128.0 else 0

    def flattened(strip: Image.Image) -> Image.Image:
        grey = strip.convert("L")
        grey.paste(background, mask=_clearness(strip))
        return grey

    return _by_strips(image, flattened)


def _has_transparency(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        return True
    return "transparency" in image.info and image.mode in ("P", "L", "RGB")


def to_8bit_opaque(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> ``L`` or ``RGB``, 8 bits, no alpha.

    ``L`` for grey sources and for what is flattened here (transparency, CMYK, high bit
    depth), strip by strip: the result is the only full-size copy made.
    """
    if _has_transparency(image):
        return _composite_transparency(image)
    mode = image.mode
    if mode == "L":
        return image
    if mode == "RGB":
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        return _scaled_to_8bit(image, declared_max=65535.0)
    if mode in ("I", "F"):
        return _scaled_to_8bit(image, declared_max=None)
    if mode == "P":
        palette_mode = image.palette.mode if image.palette is not None else "RGB"
        return image.convert("L" if palette_mode == "L" else "RGB")
    if mode == "LAB":
        return image.getchannel("L")
    if mode == "CMYK":
        return _by_strips(image, lambda strip: strip.convert("L"))  # Pillow goes via RGB
    return image.convert("RGB")  # YCbCr, HSV, RGBX, ...


def decode_upload(
    data: bytes,
    *,
    max_pixels: int,
    max_decoded_pixels: int | None = None,
    draft_side: int | None = None,
) -> Image.Image:
    """Decode an upload into an upright, opaque 8-bit ``L`` or ``RGB`` image.

    ``max_pixels`` bounds what a JPEG may declare; ``max_decoded_pixels`` (when given) bounds
    every other format and the scale a JPEG is decoded at (1/2, 1/4 or 1/8 of its size).
    ``draft_side``: a JPEG may also be reduced as long as both sides stay at least this long.
    The upload's own (upright) size is always in ``image.info["upload_size"]``.

    Raises ``UnsupportedMediaType`` (not a format we read), ``TooManyPixels`` (over the limit,
    found from the header), ``InvalidImage`` (empty, corrupt or truncated).
    """
    if not data:
        raise InvalidImage("the upload is empty")
    kind = _refuse_unsupported(data)
    image = _open_checked(data, kind, max_pixels, max_decoded_pixels)
    stored_size = image.size
    try:
        image = _load_first_frame(image, kind, draft_side, max_decoded_pixels)
        loaded_size = image.size
        # Flattened first, turned upright after: turning an 8-bit grey image costs least.
        result = _upright(to_8bit_opaque(image), exif_source=image)
        quarter_turned = loaded_size[0] != loaded_size[1] and result.size == loaded_size[::-1]
    except ClientError:
        raise
    except Exception as exc:  # a mode or file we cannot convert is the upload's problem
        raise InvalidImage(f"the {kind} image cannot be read ({type(exc).__name__}: {exc})") from exc
    result.info[UPLOAD_SIZE_KEY] = stored_size[::-1] if quarter_turned else stored_size
    return result


def decode_for_recognition(data: bytes, settings: Settings) -> Image.Image:
    """``decode_upload`` with the service's limits (what every route decodes uploads with)."""
    return decode_upload(data, max_pixels=settings.max_image_pixels, max_decoded_pixels=settings.max_decoded_pixels)
