"""Hostile uploads, generated on the fly (nothing hostile is committed).

Every case is an ``Upload``: one HTTP request and the answers it may get. They come from:

- ``hostile_files``: one of each kind of bad file a public upload endpoint meets (empty and
  truncated images, disguised documents, odd colour modes, animations, broken EXIF), sent by
  ``file_uploads`` to all three upload routes (to the batch next to a good digit);
- ``request_uploads``: bad requests around good files: wrong Content-Types, malformed or empty
  forms, a field with another name, wrong methods, escaping paths and ids;
- ``declared_bombs``: headers declaring more than MAX_IMAGE_PIXELS (refused from the header,
  before any pixel is allocated); ``inflating_bombs``: images just within the limits, tiny on the wire;
- ``mutated_uploads``: seeded random mutations (bit flips, truncations, splices, extreme
  header fields) of valid digit images in every format the service reads.

Valid seeds are real MNIST digits (``tests/data/mnist_sample.npz``), dark ink on white.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.uploads import Part, encode, multipart

MNIST_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "mnist_sample.npz"

PREDICT, MULTI, BATCH = "/api/predict", "/api/predict/multi", "/api/predict/batch"
UPLOAD_ROUTES = (PREDICT, MULTI, BATCH)
JPEG_BOMB_SIDE = 5_000  # 5000 x 5000 = 25,000,000 pixels: a large JPEG, decoded at 1/8 scale
BOMB_SIDE = 2_048  # 2048 x 2048 = 4,194,304 pixels: the largest square decoded at full size
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Upload:
    """One request and the answers it may get.

    ``expect``: the statuses allowed (empty: any 200 or 4xx); ``code``: the error code a 4xx
    must carry. For a batch: ``results``, how many results the answer must hold; ``first``,
    what the first file's result must be ("prediction", "error" or an error code; None: either);
    ``good_last``, the last file is a readable digit whose result must be a prediction whatever
    happened to the others.
    """

    name: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"
    query: tuple[tuple[str, str], ...] = ()
    expect: frozenset[int] = frozenset()
    code: str | None = None
    results: int = 0
    first: str | None = None
    good_last: bool = False
    bomb: bool = False


@dataclass(frozen=True)
class HostileFile:
    """A file to upload and what /api/predict must answer (``expect`` empty: 200 or any 4xx)."""

    name: str
    data: bytes
    expect: frozenset[int] = frozenset()
    code: str | None = None
    filename: str = "upload.png"
    bomb: bool = False


def hostile(
    name: str,
    data: bytes,
    expect: Sequence[int] = (),
    code: str | None = None,
    *,
    filename: str = "upload.png",
    bomb: bool = False,
) -> HostileFile:
    return HostileFile(name, data, frozenset(expect), code, filename, bomb)


# --- bodies -----------------------------------------------------------------------------------


def form_upload(
    name: str,
    parts: Sequence[Part],
    *,
    path: str = PREDICT,
    expect: Sequence[int] = (),
    code: str | None = None,
    first: str | None = None,
    good_last: bool = False,
    bomb: bool = False,
    query: tuple[tuple[str, str], ...] = (),
) -> Upload:
    body, content_type = multipart(parts)
    results = sum(1 for part in parts if part.field == "images" and part.filename is not None)
    return Upload(
        name=name,
        path=path,
        body=body,
        headers=(("content-type", content_type),),
        query=query,
        expect=frozenset(expect),
        code=code,
        results=results if path == BATCH else 0,
        first=first,
        good_last=good_last,
        bomb=bomb,
    )


def raw_upload(
    name: str,
    data: bytes,
    content_type: str | None,
    *,
    path: str = PREDICT,
    expect: Sequence[int] = (),
    code: str | None = None,
) -> Upload:
    headers = (("content-type", content_type),) if content_type is not None else ()
    return Upload(name=name, path=path, body=data, headers=headers, expect=frozenset(expect), code=code)


def file_uploads(file: HostileFile, good: bytes, routes: Sequence[str] = UPLOAD_ROUTES) -> list[Upload]:
    """The file as field ``image`` of /api/predict and of the row reader, and as the first of
    two ``images`` of a batch whose second is a good digit (one bad file spoils nothing)."""
    part = Part("image", file.data, file.filename, "image/png")
    uploads = []
    if PREDICT in routes:
        uploads.append(form_upload(file.name, [part], expect=sorted(file.expect), code=file.code, bomb=file.bomb))
    if MULTI in routes:
        # The row reader may find no row in what one digit's reader reads.
        expect = sorted(file.expect | {422}) if 200 in file.expect else sorted(file.expect)
        code = file.code if 200 not in file.expect else None
        uploads.append(
            form_upload(f"{file.name} [multi]", [part], path=MULTI, expect=expect, code=code, bomb=file.bomb)
        )
    if BATCH in routes:
        uploads.append(
            form_upload(
                f"{file.name} [batch]",
                [Part("images", file.data, file.filename, "image/png"), Part("images", good, "good.png")],
                path=BATCH,
                expect=[200],
                first=batch_first_result(file),
                good_last=True,
                bomb=file.bomb,
            )
        )
    return uploads


def batch_first_result(file: HostileFile) -> str | None:
    """What the file's own result in a batch must be, from what /api/predict answers it."""
    if file.expect == {200}:
        return "prediction"
    if file.code is not None:
        return file.code
    return "error" if file.expect and 200 not in file.expect else None


# --- valid seeds --------------------------------------------------------------------------------


def mnist_sample_digits(count: int = 10, seed: int = 7) -> list[tuple[int, np.ndarray]]:
    """``count`` MNIST digits (label, uint8 28x28 white on black), every class represented."""
    with np.load(MNIST_SAMPLE) as data:
        images, labels = data["images"], data["labels"]
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(labels))]
    chosen = [next(i for i in order if labels[i] == digit) for digit in range(10)]
    chosen += [i for i in order if i not in chosen][: max(0, count - 10)]
    return [(int(labels[i]), images[i]) for i in chosen[:count]]


def paper_digit(pixels: np.ndarray, scale: int = 4) -> Image.Image:
    """Dark ink on white paper, enlarged: what a photo or scan of a digit looks like."""
    image = Image.fromarray(255 - pixels, mode="L")
    return image.resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)


def seed_files(pixels: np.ndarray) -> dict[str, bytes]:
    """One digit in every format and colour mode the service reads, by a descriptive name."""
    paper = paper_digit(pixels)
    ink16 = (np.asarray(paper, dtype=np.uint16) * 257).astype(np.uint16)
    rgb = Image.merge("RGB", (paper, paper.point(lambda v: min(255, v + 10)), paper))
    canvas = Image.new("RGBA", paper.size, (0, 0, 0, 0))
    canvas.putalpha(Image.fromarray(255 - np.asarray(paper), mode="L"))
    blank = Image.new("L", paper.size, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter: the decoder must turn it back
    multipage = io.BytesIO()
    paper.save(multipage, format="TIFF", save_all=True, append_images=[blank, paper.rotate(90)])
    return {
        "png-grey": encode(paper, "PNG"),
        "png-rgb": encode(rgb, "PNG"),
        "png-canvas-rgba": encode(canvas, "PNG"),
        "png-palette": encode(paper.convert("P"), "PNG"),
        "png-16bit": encode(Image.fromarray(ink16), "PNG"),
        "png-1bit": encode(paper.point(lambda v: 255 if v > 128 else 0).convert("1"), "PNG"),
        "png-grey-alpha": encode(Image.merge("LA", (paper, Image.new("L", paper.size, 255))), "PNG"),
        "jpeg": encode(paper, "JPEG", quality=90),
        "jpeg-progressive": encode(rgb, "JPEG", quality=85, progressive=True),
        "jpeg-cmyk": encode(rgb.convert("CMYK"), "JPEG", quality=90),
        "jpeg-exif-rotated": encode(paper.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif),
        "gif": encode(paper.convert("P"), "GIF"),
        "gif-animated": encode(
            paper.convert("P"),
            "GIF",
            save_all=True,
            duration=100,
            loop=0,
            append_images=[blank.convert("P"), paper.rotate(180).convert("P")],
        ),
        "bmp": encode(paper, "BMP"),
        "tiff": encode(paper, "TIFF", compression="tiff_lzw"),
        "tiff-multipage": multipage.getvalue(),
        "tiff-cmyk": encode(rgb.convert("CMYK"), "TIFF"),
        "tiff-16bit": encode(Image.fromarray(ink16), "TIFF"),
        "tiff-float": encode(Image.fromarray(np.asarray(paper, dtype=np.float32) / 255.0, mode="F"), "TIFF"),
        "webp": encode(rgb, "WEBP", quality=80),
        "webp-lossless-rgba": encode(canvas, "WEBP", lossless=True),
    }


# --- crafted headers ----------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, *, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` but whose data holds one short row:
    a decoder that trusts the header allocates the whole image before finding out."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    one_row = zlib.compress(b"\x00" * (1 + min(width, 4096)))
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", one_row) + png_chunk(b"IEND", b"")


def png_streamed(width: int, height: int, row: bytes, *, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A complete PNG repeating one scanline, compressed as it is written: a bomb of a few
    kB, made without holding its pixels here."""
    compressor = zlib.compressobj(9)
    pieces = [compressor.compress(b"\x00" + row) for _ in range(height)]
    pieces.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(pieces)) + png_chunk(b"IEND", b"")


def with_png_chunk(png: bytes, chunk: bytes) -> bytes:
    """``chunk`` inserted right after IHDR (signature 8 + IHDR 25 bytes)."""
    return png[:33] + chunk + png[33:]


def png_split_idat(png: bytes, pieces: int) -> bytes:
    """A grey PNG re-encoded with its data cut into about ``pieces`` IDAT chunks."""
    image = Image.open(io.BytesIO(png)).convert("L")
    rows = image.tobytes()
    raw = b"".join(b"\x00" + rows[y * image.width : (y + 1) * image.width] for y in range(image.height))
    data = zlib.compress(raw)
    size = max(1, len(data) // pieces)
    chunks = [png_chunk(b"IDAT", data[i : i + size]) for i in range(0, len(data), size)]
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + b"".join(chunks) + png_chunk(b"IEND", b"")


def with_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0/SOF2) claiming another size."""
    data = bytearray(jpeg)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            data[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise ValueError("no SOF0/SOF2 marker in this JPEG")


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def with_jpeg_segments(jpeg: bytes, segments: Sequence[bytes]) -> bytes:
    """Segments inserted right after SOI, where APPn and COM segments live."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def with_gif_screen(gif: bytes, width: int, height: int) -> bytes:
    return gif[:6] + struct.pack("<HH", width, height) + gif[10:]


def with_bmp_size(bmp: bytes, width: int, height: int) -> bytes:
    return bmp[:18] + struct.pack("<ii", width, height) + bmp[26:]


def _tiff_first_ifd(data: bytes | bytearray) -> tuple[int, int]:
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    return ifd, count


def with_tiff_size(tiff: bytes, width: int, height: int) -> bytes:
    """A little-endian TIFF with ImageWidth and ImageLength rewritten as LONGs."""
    data = bytearray(tiff)
    ifd, count = _tiff_first_ifd(data)
    for index in range(count):
        at = ifd + 2 + 12 * index
        tag = struct.unpack_from("<H", data, at)[0]
        if tag in (256, 257):
            struct.pack_into("<HHII", data, at, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


def with_tiff_ifd_loop(tiff: bytes) -> bytes:
    """A TIFF whose first directory names itself as the next page (an endless page chain)."""
    data = bytearray(tiff)
    ifd, count = _tiff_first_ifd(data)
    struct.pack_into("<I", data, ifd + 2 + 12 * count, ifd)
    return bytes(data)


def webp_vp8x_declaring(width: int, height: int, webp: bytes) -> bytes:
    """A WebP with an extended header (VP8X) whose canvas claims ``width`` x ``height``."""
    vp8x = b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + webp[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def exif_payload(entries: int, *, loop: bool = False, junk: int = 0) -> bytes:
    """'Exif\\0\\0' + a TIFF directory of ``entries`` entries pointing past the end, optionally
    naming itself as the next directory, optionally followed by ``junk`` bytes."""
    first = 8
    body = bytearray(b"II*\x00" + struct.pack("<I", first) + struct.pack("<H", entries))
    for index in range(entries):
        tag = 0x0112 if index == 0 else 0x9000 + index % 4096
        body += struct.pack("<HHII", tag, 7, 0xFFFFFF, 0x7FFFFFF0)
    body += struct.pack("<I", first if loop else 0)
    return b"Exif\x00\x00" + bytes(body) + bytes(junk)


# --- hostile files ------------------------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
    b'<script>alert(1)</script><text x="4" y="24">7</text></svg>'
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("digit.png", bytes(100_000))
    return buffer.getvalue()


def disguised_documents() -> dict[str, bytes]:
    """Things that are not raster images we read, to be sent named ``.png`` as image/png."""
    return {
        "HTML": HTML,
        "SVG": SVG,
        "ZIP": zip_archive(),
        "PDF": PDF,
        "gzip": b"\x1f\x8b\x08\x00" + bytes(60),
        "JSON": b'{"image": "iVBORw0KGgo="}',
        "plain text": b"seven",
        "data: URL": b"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgAB",
        "ELF executable": b"\x7fELF\x02\x01\x01" + bytes(57),
        "MP4 video": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64),
        "ICO": b"\x00\x00\x01\x00\x01\x00\x10\x10" + bytes(64),
        "PSD": b"8BPS\x00\x01" + bytes(64),
        "BigTIFF": b"II+\x00\x08\x00\x00\x00" + bytes(64),
        "JPEG 2000": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(64),
        "UTF-16 text": "seven".encode("utf-16"),
        "NUL bytes": bytes(4096),
        "random bytes": random.Random(1).randbytes(4096),
    }


def hostile_files(seeds: dict[str, bytes]) -> list[HostileFile]:
    """Every kind of bad (or merely odd) file, with the answer /api/predict must give where
    it is known: valid oddities are read (200), everything else is a 4xx."""
    png, jpeg, gif = seeds["png-grey"], seeds["jpeg"], seeds["gif"]
    files = [hostile("zero-byte file", b"", [422], "missing_image")]
    for kind, data in disguised_documents().items():
        files.append(hostile(f"{kind} named .png", data, [415], "unsupported_media_type", filename="digit.png"))
    files += [
        # Formats we read, with nothing after their header: corrupt, not unsupported.
        hostile(
            "HEIC header only",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
            [422],
            "invalid_image",
            filename="photo.heic",
        ),
        hostile(
            "AVIF header only",
            b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64),
            [422],
            "invalid_image",
            filename="photo.avif",
        ),
        hostile("GIF header, then HTML", b"GIF89a" + HTML, [422], "invalid_image"),
        hostile("PNG signature, then HTML", PNG_SIGNATURE + HTML, [422], "invalid_image"),
    ]
    for name, data in seeds.items():
        files.append(hostile(f"{name}, valid", data, [200]))
        for cut in (8, 33):
            files.append(hostile(f"{name}, cut to its first {cut} bytes", data[:cut], [415, 422]))
        # Cut later, a file may still hold a whole first frame (or lack only its end marker).
        for cut in (len(data) // 2, len(data) - 12):
            files.append(hostile(f"{name}, truncated to {cut} of {len(data)} bytes", data[:cut]))
    files += exif_files(jpeg, png)
    strip_with_ink = np.where(np.arange(10_000) % 97 < 20, 0, 255).astype(np.uint8)[None, :]
    first_frame_blank = encode(
        Image.new("P", (64, 64), 0), "GIF", save_all=True, append_images=[Image.open(io.BytesIO(gif))]
    )
    noise = np.random.default_rng(3).integers(0, 256, (300, 300), dtype=np.uint8)
    files += [
        hostile("strip 10,000 x 1, blank", encode(Image.new("L", (10_000, 1), 255), "PNG"), [422], "no_digit_found"),
        hostile("strip 1 x 10,000, blank", encode(Image.new("L", (1, 10_000), 0), "PNG"), [422], "no_digit_found"),
        hostile("strip 10,000 x 1 with ink", encode(Image.fromarray(strip_with_ink), "PNG")),
        hostile("one pixel", encode(Image.new("L", (1, 1), 0), "PNG"), [422], "no_digit_found"),
        hostile("blank page", encode(Image.new("L", (600, 800), 255), "PNG"), [422], "no_digit_found"),
        hostile("pure noise", encode(Image.fromarray(noise), "PNG")),
        hostile("animated GIF whose first frame is blank", first_frame_blank, [422], "no_digit_found"),
        hostile("TIFF whose page chain loops", with_tiff_ifd_loop(seeds["tiff"]), [200, 422]),
        hostile("PNG in 50,000 IDAT chunks", png_split_idat(png, 50_000), [200]),
        hostile("JPEG with 100,000 empty COM segments", with_jpeg_segments(jpeg, [jpeg_segment(0xFE, b"")] * 100_000)),
        hostile("file over the upload limit", PNG_SIGNATURE + bytes(5 * 1024 * 1024), [413], "file_too_large"),
    ]
    return files


def exif_files(jpeg: bytes, png: bytes) -> list[HostileFile]:
    """Corrupt, looping, oversized and nonsensical EXIF: the pixels are still read."""

    def app1(payload: bytes) -> bytes:
        return jpeg_segment(0xE1, payload)

    cases = {
        "JPEG with EXIF of random bytes": with_jpeg_segments(
            jpeg, [app1(b"Exif\x00\x00" + random.Random(2).randbytes(2000))]
        ),
        "JPEG with EXIF entries pointing past the end": with_jpeg_segments(jpeg, [app1(exif_payload(500))]),
        "JPEG with an EXIF directory naming itself next": with_jpeg_segments(jpeg, [app1(exif_payload(3, loop=True))]),
        "JPEG with 70 EXIF segments of 64 kB (4.5 MB)": with_jpeg_segments(
            jpeg, [app1(exif_payload(1, junk=65_000))] * 70
        ),
        "JPEG with a truncated EXIF header": with_jpeg_segments(jpeg, [app1(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")]),
        "PNG with a 4 MB eXIf chunk": with_png_chunk(png, png_chunk(b"eXIf", exif_payload(2, junk=4_000_000)[6:])),
        "PNG with an eXIf directory naming itself next": with_png_chunk(
            png, png_chunk(b"eXIf", exif_payload(4, loop=True)[6:])
        ),
    }
    for orientation in (0, 9, 255, 65535):
        exif = Image.Exif()
        exif[0x0112] = orientation
        cases[f"JPEG with EXIF orientation {orientation}"] = encode(Image.open(io.BytesIO(jpeg)), "JPEG", exif=exif)
    return [hostile(name, data, [200]) for name, data in cases.items()]


def declared_bombs(seeds: dict[str, bytes]) -> list[HostileFile]:
    """Headers declaring more than MAX_IMAGE_PIXELS over a few bytes of data: refused (413)
    from the header, before any pixel is allocated."""
    bombs = [
        hostile("PNG declaring 30,000 x 30,000", png_declaring(30_000, 30_000), [413], "image_too_large"),
        hostile(
            "PNG declaring 100,000 x 100,000 16-bit RGBA",
            png_declaring(100_000, 100_000, bit_depth=16, colour_type=6),
            [413],
            "image_too_large",
        ),
        hostile("PNG declaring 25,000,001 x 1", png_declaring(25_000_001, 1), [413], "image_too_large"),
        hostile("PNG declaring 4,194,305 x 1", png_declaring(4_194_305, 1), [413], "image_too_large"),
        hostile("PNG declaring 2049 x 2048", png_declaring(2049, 2048), [413], "image_too_large"),
        hostile("PNG declaring 2^31-1 x 2^31-1", png_declaring(2**31 - 1, 2**31 - 1), [413, 422]),
        hostile(
            "JPEG declaring 65,500 x 65,500", with_jpeg_size(seeds["jpeg"], 65_500, 65_500), [413], "image_too_large"
        ),
        hostile(
            "GIF declaring 65,535 x 65,535", with_gif_screen(seeds["gif"], 65_535, 65_535), [413], "image_too_large"
        ),
        hostile("BMP declaring 100,000 x 100,000", with_bmp_size(seeds["bmp"], 100_000, 100_000), [413, 422]),
        hostile("TIFF declaring 200,000 x 200,000", with_tiff_size(seeds["tiff"], 200_000, 200_000), [413, 422]),
        hostile(
            "WebP declaring 16,384 x 16,384",
            webp_vp8x_declaring(16_384, 16_384, seeds["webp-lossless-rgba"]),
            [413, 422],
        ),
    ]
    return [HostileFile(f.name, f.data, f.expect, f.code, f.filename, bomb=True) for f in bombs]


def inflating_bombs(seeds: dict[str, bytes]) -> list[HostileFile]:
    """Just within the pixel limits: a few bytes to a few hundred kB that decode to 4 million
    pixels for real (25 million for a JPEG, decoded at a reduced scale), or that unpack 50 MB
    of metadata, so memory and time are what counts. The same pictures at the JPEG's size in
    the other formats are refused from their headers."""
    side, jpeg_side = BOMB_SIDE, JPEG_BOMB_SIDE
    bar_16bit = b"".join(struct.pack(">H", 0 if side // 3 < x < side // 2 else 65535) for x in range(side))
    fifty_mb_of_zeros = zlib.compress(bytes(50_000_000), 9)
    png = seeds["png-grey"]

    def full_size_kinds(side: int) -> list[tuple[str, bytes]]:
        kinds = [
            ("transparent RGBA PNG", png_streamed(side, side, bytes(4 * side), colour_type=6)),
            ("1-bit PNG", png_streamed(side, side, bytes((side + 7) // 8), bit_depth=1)),
            ("grey+alpha PNG", png_streamed(side, side, bytes(2 * side), colour_type=4)),
            ("transparent lossless WebP", encode(Image.new("RGBA", (side, side), (0, 0, 0, 0)), "WEBP", lossless=True)),
            ("transparent GIF", encode(Image.new("P", (side, side), 0), "GIF", transparency=0)),
            ("float TIFF", encode(Image.new("F", (side, side), 0.5), "TIFF", compression="tiff_deflate")),
            ("CMYK TIFF", encode(Image.new("CMYK", (side, side), 0), "TIFF", compression="tiff_deflate")),
        ]
        return [(f"{name} {side} x {side}", data) for name, data in kinds]

    within = full_size_kinds(side) + [
        (f"16-bit grey PNG with a bar of ink {side} x {side}", png_streamed(side, side, bar_16bit, bit_depth=16)),
        (
            f"CMYK JPEG {jpeg_side} x {jpeg_side}",
            encode(Image.new("CMYK", (jpeg_side, jpeg_side), 0), "JPEG", quality=10),
        ),
        (
            f"progressive JPEG {jpeg_side} x {jpeg_side}",
            encode(Image.new("L", (jpeg_side, jpeg_side), 255), "JPEG", quality=10, progressive=True),
        ),
    ]
    bombs = [hostile(f"{name} ({len(data):,} bytes)", data) for name, data in within]
    bombs += [
        hostile(f"{name} ({len(data):,} bytes)", data, [413], "image_too_large")
        for name, data in full_size_kinds(jpeg_side)
    ]
    bombs += [
        hostile("grey PNG 4,194,304 x 1", png_streamed(side * side, 1, bytes(side * side)), [422], "no_digit_found"),
        hostile(
            "PNG with a zTXt chunk of 50 MB", with_png_chunk(png, png_chunk(b"zTXt", b"k\x00\x00" + fifty_mb_of_zeros))
        ),
        hostile(
            "PNG with an iCCP profile of 50 MB",
            with_png_chunk(png, png_chunk(b"iCCP", b"p\x00\x00" + fifty_mb_of_zeros)),
        ),
    ]
    return [HostileFile(f.name, f.data, f.expect, f.code, f.filename, bomb=True) for f in bombs]


def request_uploads(png: bytes) -> list[Upload]:
    """Bad requests around a good file: forms, Content-Types, methods, paths and ids."""
    other_boundary = multipart([Part("image", png)], "one")[0]
    return [
        raw_upload("zero bytes, raw", b"", "image/png", expect=[422], code="missing_image"),
        raw_upload("zero bytes, no Content-Type", b"", None, expect=[422], code="missing_image"),
        form_upload("empty multipart form", [], expect=[422], code="missing_image"),
        form_upload("empty multipart form [batch]", [], path=BATCH, expect=[422], code="missing_image"),
        form_upload("file in a field with another name", [Part("file", png)], expect=[422], code="missing_image"),
        form_upload(
            "file in a field with another name [multi]",
            [Part("file", png)],
            path=MULTI,
            expect=[422],
            code="missing_image",
        ),
        form_upload(
            "files in a field with another name [batch]",
            [Part("image", png)],
            path=BATCH,
            expect=[422],
            code="missing_image",
        ),
        form_upload("image sent as a text field", [Part("image", png, None, None)], expect=[422], code="missing_image"),
        form_upload("five file fields", [Part(f"f{i}", png) for i in range(5)], expect=[400], code="bad_request"),
        form_upload(
            "33 files [batch]",
            [Part("images", png, f"{i}.png") for i in range(33)],
            path=BATCH,
            expect=[413],
            code="too_many_files",
        ),
        form_upload("two image fields (the first counts)", [Part("image", png), Part("image", b"junk")], expect=[200]),
        form_upload(
            "a thousand text fields",
            [Part(f"f{i}", b"x", None, None) for i in range(1000)] + [Part("image", png)],
            expect=[400],
            code="bad_request",
        ),
        form_upload("a 60 kB file name", [Part("image", png, "x" * 60_000 + ".png")], expect=[200, 400, 413]),
        form_upload("PNG in a part labelled text/html", [Part("image", png, "digit.png", "text/html")], expect=[200]),
        form_upload("PNG in a part without Content-Type", [Part("image", png, "digit.png", None)], expect=[200]),
        raw_upload("raw PNG labelled text/plain", png, "text/plain", expect=[415], code="unsupported_media_type"),
        raw_upload(
            "raw PNG labelled application/json", png, "application/json", expect=[415], code="unsupported_media_type"
        ),
        raw_upload("raw PNG without Content-Type", png, None, expect=[200]),
        raw_upload("raw PNG labelled image/jpeg", png, "image/jpeg", expect=[200]),
        raw_upload(
            "raw PNG as a urlencoded form (curl --data-binary)", png, "application/x-www-form-urlencoded", expect=[200]
        ),
        raw_upload("raw PNG [batch]", png, "image/png", path=BATCH, expect=[415], code="unsupported_media_type"),
        raw_upload("multipart without a boundary", png, "multipart/form-data", expect=[400], code="bad_request"),
        raw_upload(
            "multipart with another boundary than the body's",
            other_boundary,
            "multipart/form-data; boundary=two",
            expect=[400, 422],
        ),
        raw_upload(
            "multipart body cut short",
            multipart([Part("image", png)], "cut")[0][:200],
            "multipart/form-data; boundary=cut",
            expect=[400, 422],
        ),
        raw_upload(
            "body over the upload limit", bytes(5 * 1024 * 1024 + 1), "image/png", expect=[413], code="file_too_large"
        ),
        raw_upload(
            "body over the batch limit [batch]",
            bytes(21 * 1024 * 1024),
            "multipart/form-data; boundary=x",
            path=BATCH,
            expect=[413],
            code="batch_too_large",
        ),
        Upload("GET on the upload route", PREDICT, method="GET", expect=frozenset([405]), code="method_not_allowed"),
        Upload(
            "PUT on the upload route", PREDICT, png, method="PUT", expect=frozenset([405]), code="method_not_allowed"
        ),
        Upload(
            "OPTIONS on the batch route", BATCH, method="OPTIONS", expect=frozenset([405]), code="method_not_allowed"
        ),
        Upload(
            "DELETE with an escaping id",
            "/api/predictions/..%2F..%2Fsecret",
            method="DELETE",
            expect=frozenset([404, 422]),
        ),
        Upload(
            "DELETE with 33 hex digits",
            "/api/predictions/" + "a" * 33,
            method="DELETE",
            expect=frozenset([422]),
            code="invalid_prediction_id",
        ),
        Upload(
            "DELETE of nothing stored",
            "/api/predictions/" + "0" * 32,
            method="DELETE",
            expect=frozenset([404]),
            code="not_found",
        ),
        Upload("reset without an id", "/api/reset", method="GET", expect=frozenset([422]), code="validation_error"),
        Upload(
            "reset with a traversal id",
            "/api/reset",
            method="GET",
            query=(("prediction_id", "../../etc/passwd"),),
            expect=frozenset([422]),
            code="invalid_prediction_id",
        ),
        Upload("site path traversal", "/..%2f..%2f..%2fetc%2fpasswd", method="GET", expect=frozenset([404])),
        Upload("API path traversal", "/api/..%2f..%2fREADME.md", method="GET", expect=frozenset([404])),
    ]


# --- mutations ----------------------------------------------------------------------------------

EXTREMES = (b"\x00\x00", b"\xff\xff", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x80\x00")
RAW_TYPES = ("image/png", "image/jpeg", "application/octet-stream", "image/*", None)


def mutate(data: bytes, rng: random.Random, donors: Sequence[bytes]) -> tuple[str, bytes]:
    """One to three random edits of ``data``: what was done, and the result."""
    done: list[str] = []
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        size = len(out)
        if size == 0:
            break
        at = rng.randrange(size)
        operation = rng.randrange(8)
        if operation == 0:
            flips = rng.randint(1, 32)
            for _ in range(flips):
                out[rng.randrange(size)] ^= 1 << rng.randrange(8)
            done.append(f"{flips} bits flipped")
        elif operation == 1:
            run = min(rng.randint(1, 64), size - at)
            out[at : at + run] = rng.randbytes(run)
            done.append(f"{run} bytes overwritten at {at}")
        elif operation == 2:
            del out[at:]
            done.append(f"truncated at {at}")
        elif operation == 3:
            del out[at : at + rng.randint(1, 256)]
            done.append(f"bytes dropped at {at}")
        elif operation == 4:
            out[at:at] = out[at : at + rng.randint(1, 512)]
            done.append(f"bytes repeated at {at}")
        elif operation == 5:
            out[at:at] = rng.randbytes(rng.randint(1, 64))
            done.append(f"bytes inserted at {at}")
        elif operation == 6:
            extreme = rng.choice(EXTREMES)
            field_at = rng.randrange(min(size, 64))
            out[field_at : field_at + len(extreme)] = extreme
            done.append(f"header field at {field_at} set to {extreme.hex()}")
        else:
            donor = rng.choice(donors)
            out = out[:at] + donor[rng.randrange(max(1, len(donor))) :]
            done.append(f"spliced with another file at {at}")
    return ", ".join(done) or "unchanged", bytes(out)


def mutated_uploads(seeds: dict[str, bytes], count: int, seed: int = 20_260_000) -> Iterator[Upload]:
    """``count`` seeded mutations of the seeds, spread over the three upload routes and over
    multipart and raw bodies."""
    rng = random.Random(seed)
    names = sorted(seeds)
    donors = [seeds[name] for name in names]
    good = seeds["png-grey"]
    for index in range(count):
        source = rng.choice(names)
        how, data = mutate(seeds[source], rng, donors)
        label = f"mutation {index}: {source}, {how}"
        route = rng.choices(UPLOAD_ROUTES, weights=(70, 15, 15))[0]
        if route == BATCH:
            parts = [Part("images", data, f"{source}.bin"), Part("images", good, "good.png")]
            yield form_upload(label, parts, path=BATCH, expect=[200], good_last=True)
        elif rng.random() < 0.15:
            yield raw_upload(label, data, rng.choice(RAW_TYPES), path=route)
        else:
            query = (("feature_maps", rng.choice(("true", "false"))),) if route == MULTI else ()
            filename = f"{source}.{rng.choice(('png', 'jpg', 'bin'))}"
            yield form_upload(label, [Part("image", data, filename, rng.choice(RAW_TYPES))], path=route, query=query)
