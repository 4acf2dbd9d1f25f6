"""People's corrections, out of the maps bucket and into files training takes.

    python -m infra.corrections export DIR      # DIR/corrections-{images-idx3,labels-idx1}-ubyte.gz

Reads every object under ``corrections/`` (what ``POST /api/predictions/{id}/correction``
kept: the 28x28 input, 784 bytes, and its label in the object's metadata) and writes them in
MNIST's IDX format (``training.data.corrections``), ready for ``make model
CORRECTIONS_DIR=DIR``. The bucket and endpoint come from ``MAPS_BUCKET`` and
``S3_ENDPOINT_URL`` as the service reads them (``--bucket``, ``--endpoint-url`` override),
the credentials from boto3's usual chain: the operator's, not the function's (its role may
only write corrections, never list or read them). An object that is not a correction (wrong
size, no label) is skipped and named on stderr. The bucket deletes corrections after 365 days
(template.yaml's lifecycle rule ``ExpireCorrections``); export before then to keep them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recognizer.settings import Settings
from recognizer.storage import CORRECTION_BYTES, CORRECTION_LABEL, CORRECTIONS, NOT_A_DIGIT_LABEL, s3_client
from training.data.corrections import SIDE, write_corrections


@dataclass
class Corrections:
    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # uint8 [N], 0-9 or 10 (not a digit)
    skipped: list[str] = field(default_factory=list)  # "key: why"


def read_corrections(client: Any, bucket: str) -> Corrections:
    """Every correction in ``bucket``, in key order (the same bucket gives the same files)."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{CORRECTIONS}/"):
        keys += [item["Key"] for item in page.get("Contents", [])]
    images, labels, skipped = [], [], []
    for key in sorted(keys):
        answer = client.get_object(Bucket=bucket, Key=key)
        pixels = answer["Body"].read()
        label = answer.get("Metadata", {}).get(CORRECTION_LABEL, "")
        if len(pixels) != CORRECTION_BYTES:
            skipped.append(f"{key}: {len(pixels)} bytes, not {CORRECTION_BYTES}")
        elif not label.isdigit() or int(label) > NOT_A_DIGIT_LABEL:
            skipped.append(f"{key}: label {label!r} is not 0-{NOT_A_DIGIT_LABEL}")
        else:
            images.append(np.frombuffer(pixels, np.uint8).reshape(SIDE, SIDE))
            labels.append(int(label))
    return Corrections(
        images=np.stack(images) if images else np.zeros((0, SIDE, SIDE), np.uint8),
        labels=np.asarray(labels, np.uint8),
        skipped=skipped,
    )


def export(client: Any, bucket: str, folder: Path) -> Corrections:
    """Write the bucket's corrections into ``folder`` as IDX files; what was read."""
    corrections = read_corrections(client, bucket)
    write_corrections(folder, corrections.images, corrections.labels)
    return corrections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.corrections", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export_command = commands.add_parser("export", help="write the corrections as IDX files into DIR")
    export_command.add_argument("folder", metavar="DIR", type=Path)
    export_command.add_argument("--bucket", help="the maps bucket (default: MAPS_BUCKET)")
    export_command.add_argument("--endpoint-url", help="an S3 endpoint (default: S3_ENDPOINT_URL; unset on AWS)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    updates = {"maps_bucket": args.bucket, "s3_endpoint_url": args.endpoint_url}
    settings = settings.model_copy(update={name: value for name, value in updates.items() if value})
    corrections = export(s3_client(settings), settings.maps_bucket, args.folder)
    for reason in corrections.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    not_digits = int((corrections.labels == NOT_A_DIGIT_LABEL).sum())
    print(
        f"{len(corrections.labels)} corrections (digits: {len(corrections.labels) - not_digits}, "
        f"not a digit: {not_digits}) from s3://{settings.maps_bucket}/{CORRECTIONS}/ written to {args.folder}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
