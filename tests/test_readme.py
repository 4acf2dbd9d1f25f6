"""What the README says of sizes and limits is what the code does."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image

from recognizer.feature_maps import CONV1_LAYOUT, CONV2_LAYOUT, conv1_png, conv2_png
from recognizer.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_feature_map_sizes_and_gaps_are_the_rendered_ones() -> None:
    rng = np.random.default_rng(0)
    conv1 = Image.open(io.BytesIO(conv1_png(rng.random((26, 26, 32), dtype=np.float32)))).size
    conv2 = Image.open(io.BytesIO(conv2_png(rng.random((11, 11, 64), dtype=np.float32)))).size
    said = re.search(r"conv1\s+(\d+)x(\d+), conv2 (\d+)x(\d+)\), with transparent (\d+) px gaps", README)
    assert said, "the README no longer states the feature-map sizes"
    width1, height1, width2, height2, gap = map(int, said.groups())
    assert (width1, height1) == conv1 and (width2, height2) == conv2
    assert gap == CONV1_LAYOUT.gap == CONV2_LAYOUT.gap


def test_the_configuration_table_gives_the_settings_defaults() -> None:
    defaults = Settings()
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| [^|]+ \| ([^|]+) \|$", README, re.MULTILINE))
    mib = 1 << 20
    assert rows["MAX_UPLOAD_BYTES"].strip() == f"{defaults.max_upload_bytes // mib} MiB"
    assert rows["MAX_BATCH_BYTES"].strip() == f"{defaults.max_batch_bytes // mib} MiB"
    assert rows["MAX_BATCH_FILES"].strip() == str(defaults.max_batch_files)
    assert rows["MAX_BATCH_UPLOAD_IDS"].strip() == str(defaults.max_batch_upload_ids)
    assert rows["MAX_IMAGE_PIXELS"].strip() == f"{defaults.max_image_pixels:,}"
    assert rows["PRESIGNED_URL_EXPIRY"].strip() == f"`{defaults.presigned_url_expiry}`"


def test_the_batch_limits_in_prose_are_the_settings() -> None:
    defaults = Settings()
    said = re.search(r"takes up to (\d+) files \(`MAX_BATCH_FILES`\), (\d+) MiB in all", README)
    assert said, "the README no longer states the batch limits"
    assert (int(said.group(1)), int(said.group(2)) << 20) == (defaults.max_batch_files, defaults.max_batch_bytes)
