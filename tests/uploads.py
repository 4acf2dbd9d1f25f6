"""Uploads as tests make them, written once: an image as a file's bytes, and multipart bodies."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


def encode(image: Image.Image | np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    """``image`` (a Pillow image or a uint8 array) as a file of format ``fmt``."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if fmt == "HEIF":  # the service registers pillow-heif when a HEIC arrives; tests make them
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body (``filename=None``: a text field)."""

    field: str
    data: bytes
    filename: str | None = "upload.png"
    content_type: str | None = "image/png"


def multipart(parts: Sequence[Part], boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body written by hand, so that odd parts can be sent too; (body,
    its Content-Type)."""
    boundary = boundary or f"----pytest{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for part in parts:
        disposition = f'form-data; name="{part.field}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if part.content_type is not None:
            chunks.append(f"Content-Type: {part.content_type}\r\n".encode())
        chunks += [b"\r\n", part.data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
