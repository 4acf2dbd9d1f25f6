"""Byte counts as people read them (the limits in messages, OpenAPI and the CLI's help)."""

from __future__ import annotations


def size_text(count: int) -> str:
    """A byte count as people read it: 5 MiB, 20 MiB, 4 MiB, 1,000 bytes."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % (size // 16) == 0:
            return f"{count / size:g} {unit}"
    return f"{count:,} bytes"
