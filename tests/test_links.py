"""Presigned links signed directly are the boto3 client's own, character for character."""

from __future__ import annotations

import pytest

from recognizer.links import link_signer
from recognizer.storage import object_key, open_store
from tests.conftest import BUCKET_PLACES, FAKE_CREDENTIALS, without_aws_credentials


@pytest.mark.parametrize(
    "changes",
    BUCKET_PLACES,
)
@pytest.mark.parametrize("token", [None, "a-session-token"])  # a Lambda role's credentials carry a token
def test_a_link_is_the_clients_own(
    aws_env, settings, frozen_clock, monkeypatch: pytest.MonkeyPatch, changes: dict, token: str | None
) -> None:
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    configured = settings.model_copy(update=changes)
    store = open_store(configured, None if token else FAKE_CREDENTIALS)
    prediction_id = "0123456789abcdef0123456789abcdef"
    for name in ("input.png", "conv1.png", "conv2.png"):
        expected = store.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": configured.maps_bucket, "Key": object_key(prediction_id, name)},
            ExpiresIn=configured.presigned_url_expiry,
        )
        assert store.presigned_url(prediction_id, name) == expected
    assert ("X-Amz-Security-Token" in expected) == bool(token)
    store.close()


def test_without_credentials_there_is_no_signer_and_a_link_fails_as_the_clients_would(
    aws_env, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import NoCredentialsError

    without_aws_credentials(monkeypatch)
    store = open_store(settings)
    assert store.links is None
    with pytest.raises(NoCredentialsError):
        store.presigned_url("0123456789abcdef0123456789abcdef", "input.png")
    with pytest.raises(NoCredentialsError):
        store.client.generate_presigned_url("get_object", Params={"Bucket": store.bucket, "Key": "k"})
    assert link_signer(store.client, None, store.bucket) is None
    store.close()


def test_a_store_refuses_links_signed_for_another_bucket(aws_env, settings) -> None:
    import dataclasses

    store = open_store(settings, FAKE_CREDENTIALS)
    with pytest.raises(ValueError, match="links signed for bucket"):
        dataclasses.replace(store, bucket="another-bucket")
    store.close()
