"""Publish site/ to the deployed stack's site bucket, then invalidate CloudFront's cache.

    .venv/bin/python -m infra.publish_site [--stack-name digits] [--region R] [--site-dir site]
    .venv/bin/python -m infra.publish_site --empty   # empty both buckets (before `sam delete`)

The bucket and distribution come from the stack's outputs (CloudFormation DescribeStacks).
Every file is uploaded with its Content-Type and a Cache-Control chosen by what it is:

- pages and the files that name other files (``*.html``, ``sw.js``, the web manifest) and
  unhashed code (``*.js``, ``*.css``): ``no-cache``, so browsers revalidate them (a cheap 304)
  and a deploy shows at once, never an old page with new scripts or the reverse;
- files whose name carries a content hash (``app.3f9a1c2e.js``): one year, ``immutable``;
- other static files (icons, images, fonts): one day.

Assets are uploaded before the pages that use them, objects no longer in site/ are deleted, and
then one invalidation of ``/*`` drops CloudFront's copies (the first 1,000 paths a month are
free; ``/*`` counts as one).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import mimetypes
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = REPO_ROOT / "site"
DEFAULT_STACK = "digits"

NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
ONE_DAY = "public, max-age=86400"

# Files that must never be served stale: they decide which other files a visitor loads.
ALWAYS_REVALIDATE = {"sw.js", "manifest.webmanifest", "manifest.json"}
REVALIDATED_SUFFIXES = {".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".map"}
CONTENT_HASH = re.compile(r"[.-][0-9a-f]{8,}\.[A-Za-z0-9]+$")

# mimetypes' answers differ between platforms or are missing for these.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
}


class PublishError(Exception):
    """The stack or its outputs are not what publishing needs."""


@dataclass(frozen=True)
class StackOutputs:
    site_bucket: str
    maps_bucket: str
    distribution_id: str
    site_url: str


@dataclass(frozen=True)
class SiteFile:
    key: str
    path: Path
    content_type: str
    cache_control: str

    @property
    def is_entry_point(self) -> bool:
        """Uploaded last: pages and the files that name other files."""
        return self.key.endswith(".html") or Path(self.key).name in ALWAYS_REVALIDATE


@dataclass(frozen=True)
class PublishReport:
    uploaded: list[str]
    deleted: list[str]
    invalidation_id: str | None


def stack_outputs(cloudformation: Any, stack_name: str) -> StackOutputs:
    """The outputs of template.yaml that publishing needs, from the deployed stack."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:  # botocore's ClientError: the stack does not exist (yet)
        raise PublishError(f"cannot read stack {stack_name!r}: {exc}") from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    needed = ("SiteBucketName", "MapsBucketName", "DistributionId", "SiteUrl")
    missing = [name for name in needed if name not in outputs]
    if missing:
        raise PublishError(f"stack {stack_name!r} has no output {', '.join(missing)}")
    return StackOutputs(
        site_bucket=outputs["SiteBucketName"],
        maps_bucket=outputs["MapsBucketName"],
        distribution_id=outputs["DistributionId"],
        site_url=outputs["SiteUrl"],
    )


def content_type_for(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def cache_control_for(key: str) -> str:
    name = Path(key).name
    if name in ALWAYS_REVALIDATE or key.endswith(".html"):
        return NO_CACHE
    if CONTENT_HASH.search(name):
        return IMMUTABLE
    if Path(name).suffix.lower() in REVALIDATED_SUFFIXES:
        return NO_CACHE
    return ONE_DAY


def site_files(site_dir: Path) -> list[SiteFile]:
    """Every file to publish, assets first and entry points last; hidden files are skipped."""
    files = []
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        files.append(SiteFile(key, path, content_type_for(key), cache_control_for(key)))
    return sorted(files, key=lambda file: (file.is_entry_point, file.key))


def existing_keys(s3: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def upload(s3: Any, bucket: str, file: SiteFile) -> None:
    body = file.path.read_bytes()
    s3.put_object(
        Bucket=bucket,
        Key=file.key,
        Body=body,
        ContentType=file.content_type,
        CacheControl=file.cache_control,
        ContentMD5=_content_md5(body),
    )


def _content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def delete_keys(s3: Any, bucket: str, keys: Iterable[str]) -> list[str]:
    """Delete these keys (1,000 per request, S3's limit); the keys deleted."""
    ordered = sorted(keys)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True})
        if answer.get("Errors"):
            raise PublishError(f"could not delete from {bucket}: {answer['Errors'][:3]}")
    return ordered


def invalidate(cloudfront: Any, distribution_id: str) -> str:
    """Invalidate every path of the distribution; the invalidation's id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"publish-site-{time.time_ns()}",
        },
    )
    return answer["Invalidation"]["Id"]


def publish(site_dir: Path, outputs: StackOutputs, s3: Any, cloudfront: Any) -> PublishReport:
    files = site_files(site_dir)
    if not any(file.key == "index.html" for file in files):
        raise PublishError(f"{site_dir} has no index.html: is it the site folder?")
    before = existing_keys(s3, outputs.site_bucket)
    for file in files:
        upload(s3, outputs.site_bucket, file)
    stale = before - {file.key for file in files}
    deleted = delete_keys(s3, outputs.site_bucket, stale) if stale else []
    invalidation_id = invalidate(cloudfront, outputs.distribution_id)
    return PublishReport([file.key for file in files], deleted, invalidation_id)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object of an (unversioned) bucket; how many there were."""
    return len(delete_keys(s3, bucket, existing_keys(s3, bucket)))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", default=DEFAULT_STACK, help="the SAM stack (default: digits)")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--site-dir", type=Path, default=SITE_DIR, help="the folder to publish")
    parser.add_argument(
        "--empty",
        action="store_true",
        help="instead of publishing, empty the site and maps buckets (before `sam delete`)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import boto3

    args = _parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    if session.region_name is None:
        print("publish_site: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return 2
    s3 = session.client("s3")
    try:
        outputs = stack_outputs(session.client("cloudformation"), args.stack_name)
        if args.empty:
            for bucket in (outputs.site_bucket, outputs.maps_bucket):
                print(f"emptied s3://{bucket}: {empty_bucket(s3, bucket)} objects deleted")
            return 0
        report = publish(args.site_dir, outputs, s3, session.client("cloudfront"))
    except PublishError as exc:
        print(f"publish_site: {exc}", file=sys.stderr)
        return 1
    print(
        f"published {len(report.uploaded)} files to s3://{outputs.site_bucket}, "
        f"deleted {len(report.deleted)} stale, invalidation {report.invalidation_id}\n"
        f"site: {outputs.site_url}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
