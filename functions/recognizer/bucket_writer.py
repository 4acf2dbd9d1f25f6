"""Small objects PUT into the maps bucket: signed by botocore's SigV4 signer, sent by urllib3.

In: a key, the object's bytes and its content type. Out: the object stored, or the exception the
boto3 client's ``put_object`` would raise: a ``ClientError`` with S3's own code and message, or
botocore's connection errors (``EndpointConnectionError``, ``ConnectTimeoutError``,
``ReadTimeoutError``, ``ConnectionClosedError``), so the answer's warning says the same. The client's call runs its event hooks, parameter checks, endpoint
rules and response parser for every object: about 3.5 ms of CPU a PutObject where signing and
sending take about 2 (three objects a prediction, three per digit of a row). The request is the
client's own, header for header and signature for signature (``tests/test_bucket_writer.py``):
the same address and region (read from the client once, ``links.LinkSigner``), the body's SHA-256
signed as the client signs it, no ``Expect: 100-continue``. Retries: S3's 500, 503 (SlowDown)
and broken connections, as the client's standard mode retries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.etree import ElementTree

import urllib3

from recognizer.links import LinkSigner
from recognizer.settings import Settings

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

RETRIED_STATUSES = frozenset({500, 502, 503, 504})  # botocore's standard mode retries these too


@dataclass(frozen=True)
class BucketWriter:
    """PUTs objects into the bucket ``signer`` signs links for, over a pool of its own."""

    signer: LinkSigner
    pool: urllib3.PoolManager
    retries: urllib3.Retry
    timeout: urllib3.Timeout

    def put(self, key: str, body: bytes, content_type: str) -> None:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = self.signer.bucket_url + quote(key, safe="/~")
        request = AWSRequest(method="PUT", url=url, data=body, headers={"Content-Type": content_type})
        credentials = self.signer.credentials.get_frozen_credentials()
        S3SigV4Auth(credentials, "s3", self.signer.region).add_auth(request)
        try:
            response = self.pool.request(
                "PUT",
                url,
                body=body,
                headers=dict(request.headers.items()),
                retries=self.retries,
                timeout=self.timeout,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise connection_error(exc, self.signer.bucket_url) from exc
        if response.status >= 300:
            raise s3_error(response.status, response.data)


def connection_error(exc: urllib3.exceptions.HTTPError, endpoint: str) -> Exception:
    """A failure to reach S3 as the boto3 client names it (the answer's warning says which)."""
    from botocore import exceptions as botocore_errors
    from urllib3 import exceptions as urllib3_errors

    reason = exc.reason if isinstance(exc, urllib3_errors.MaxRetryError) and exc.reason is not None else exc
    if isinstance(reason, urllib3_errors.NewConnectionError):  # before its base class, ConnectTimeoutError
        return botocore_errors.EndpointConnectionError(endpoint_url=endpoint)
    if isinstance(reason, urllib3_errors.ConnectTimeoutError):
        return botocore_errors.ConnectTimeoutError(endpoint_url=endpoint)
    if isinstance(reason, urllib3_errors.ReadTimeoutError):
        return botocore_errors.ReadTimeoutError(endpoint_url=endpoint)
    return botocore_errors.ConnectionClosedError(endpoint_url=endpoint)


def s3_error(status: int, body: bytes) -> ClientError:
    """S3's error response as the boto3 client raises it (a ``ClientError`` with its code and message)."""
    from botocore.exceptions import ClientError

    code, message = str(status), ""
    try:
        error = ElementTree.fromstring(body)
        code = error.findtext("Code") or code
        message = error.findtext("Message") or ""
    except ElementTree.ParseError:
        pass  # no XML (a proxy's page, an empty body): the status is all there is
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
    )


def bucket_writer(signer: LinkSigner | None, settings: Settings, connections: int) -> BucketWriter | None:
    """A writer for ``signer``'s bucket with ``settings``' timeouts and attempts; None without
    credentials (every PUT then goes through the client and fails as it does)."""
    if signer is None:
        return None
    return BucketWriter(
        signer=signer,
        pool=urllib3.PoolManager(maxsize=connections, block=False),
        retries=urllib3.Retry(
            total=settings.storage_max_attempts - 1,
            status_forcelist=RETRIED_STATUSES,
            allowed_methods=frozenset({"PUT"}),  # putting the same bytes again is safe
            backoff_factor=0.05,
            raise_on_status=False,  # the last answer is read as S3's error
            redirect=False,
        ),
        timeout=urllib3.Timeout(connect=settings.storage_timeout_seconds, read=settings.storage_timeout_seconds),
    )
