"""Presigned GET links to the maps bucket's objects, made by botocore's S3 query signer directly.

In: an object's key and how long its link may be used. Out: the URL the boto3 client's
``generate_presigned_url("get_object", ...)`` gives for it, character for character
(``tests/test_links.py``). The client's call runs its event hooks, parameter checks and endpoint
rules for every link: about 0.65 ms of CPU where signing takes 0.25 (three links a prediction,
three per digit of a row). The bucket's address and the signing region are read once from a link
the client itself made, so whatever the client decides (path or virtual-host style, the regional
host) the links keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

if TYPE_CHECKING:
    from botocore.credentials import Credentials as BotocoreCredentials
    from mypy_boto3_s3 import S3Client
else:
    BotocoreCredentials = S3Client = Any

_PROBE_KEY = "link-probe"  # a key the first link is made for, never stored: only its URL is read


@dataclass(frozen=True)
class LinkSigner:
    """Signs GET links to one bucket's objects."""

    bucket: str
    bucket_url: str  # its address as the client signs for it, ending in "/"
    region: str  # the region the client signs its links for
    credentials: BotocoreCredentials  # the client's (refreshable ones refresh themselves)

    def url(self, key: str, expiry_seconds: int) -> str:
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="GET", url=self.bucket_url + quote(key, safe="/~"))
        signer = S3SigV4QueryAuth(self.credentials.get_frozen_credentials(), "s3", self.region, expires=expiry_seconds)
        signer.add_auth(request)
        return str(request.url)


def link_signer(client: S3Client, credentials: BotocoreCredentials | None, bucket: str) -> LinkSigner | None:
    """A signer for ``bucket``'s links as ``client`` makes them; None where there are no
    credentials to sign with (every link then fails as the client's would)."""
    if credentials is None:
        return None
    probe = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60)
    parts = urlsplit(probe)
    if not parts.path.endswith("/" + _PROBE_KEY):
        raise ValueError(f"unexpected presigned URL shape: {parts.scheme}://{parts.netloc}{parts.path}")
    # X-Amz-Credential is "key id/date/region/s3/aws4_request".
    region = parse_qs(parts.query)["X-Amz-Credential"][0].split("/")[2]
    bucket_url = f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix(_PROBE_KEY)}"
    return LinkSigner(bucket, bucket_url, region, credentials)
