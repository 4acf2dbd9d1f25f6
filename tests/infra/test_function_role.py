"""The service's S3 calls under moto with IAM enforced, signed by a user that holds exactly the
function's policy from template.yaml: everything the service does is allowed, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from recognizer.errors import StorageError, UploadNotFound
from recognizer.settings import Settings
from recognizer.storage import Credentials, MapStore, new_prediction_id, open_store
from tests.infra.lambda_image import function_properties

OTHER_BUCKET = "somebody-elses-bucket"
SETUP_CALLS = 5  # made before IAM is enforced: two buckets, a user, its policy, its keys


MAPS_NAME = "digits-maps-${Stage}-${AWS::AccountId}-${AWS::Region}"  # template.yaml's MapsBucket


def resolved(value: object, bucket: str) -> object:
    """The policy's names of the maps bucket, as CloudFormation resolves them (here: ``bucket``)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${AWS::Partition}", "aws").replace(MAPS_NAME, bucket)
    if isinstance(value, list):
        return [resolved(item, bucket) for item in value]
    return value


def function_policy(bucket: str) -> dict:
    (policy,) = function_properties()["Policies"]
    statements = [{**s, "Resource": resolved(s["Resource"], bucket)} for s in policy["Statement"]]
    return {"Version": "2012-10-17", "Statement": statements}


def authorize_multi_delete_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS authorizes DeleteObjects key by key (s3:DeleteObject on each object's ARN); moto
    5.2 checks s3:DeleteObject on the bucket's ARN instead, which no least-privilege policy
    grants. Make moto ask IAM as AWS does."""
    import xmltodict
    from moto.s3.responses import S3Response

    original = S3Response._authenticate_and_authorize_s3_action

    def per_key(self, bucket_name=None, key_name=None):
        if key_name is None and self.data.get("Action") == "DeleteObject" and self.is_delete_keys():
            objects = xmltodict.parse(self.body)["Delete"].get("Object", [])
            for item in objects if isinstance(objects, list) else [objects]:
                original(self, bucket_name=bucket_name, key_name=item["Key"])
            return
        original(self, bucket_name=bucket_name, key_name=key_name)

    monkeypatch.setattr(S3Response, "_authenticate_and_authorize_s3_action", per_key)


@pytest.fixture
def as_the_function(aws_env: None, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[MapStore]:
    """A store whose client signs as a user holding only the function's policy, IAM enforced."""
    import moto.settings
    from moto import mock_aws
    from moto.core.responses import ActionAuthenticatorMixin

    # What moto's set_initial_no_auth_action_count decorator does, for a fixture: IAM is
    # enforced after the setup's calls; monkeypatch puts both back afterwards.
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", SETUP_CALLS)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    authorize_multi_delete_per_key(monkeypatch)
    with mock_aws():
        import boto3

        admin_s3 = boto3.client("s3", region_name="us-east-1")
        admin_s3.create_bucket(Bucket=settings.maps_bucket)
        admin_s3.create_bucket(Bucket=OTHER_BUCKET)
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="recognizer")
        iam.put_user_policy(
            UserName="recognizer",
            PolicyName="function",
            PolicyDocument=json.dumps(function_policy(settings.maps_bucket)),
        )
        keys = iam.create_access_key(UserName="recognizer")["AccessKey"]
        store = open_store(settings, Credentials(keys["AccessKeyId"], keys["SecretAccessKey"]))
        yield store
        store.close()


def test_storing_linking_and_deleting_a_prediction_are_allowed(as_the_function: MapStore) -> None:
    prediction_id = new_prediction_id()
    urls = as_the_function.put_files(prediction_id, {"input.png": lambda: b"\x89PNG", "conv1.png": lambda: b"x"})
    assert set(urls) == {"input.png", "conv1.png"}
    assert as_the_function.delete_prediction(prediction_id) == 2


def test_the_role_reaches_no_other_bucket(as_the_function: MapStore) -> None:
    client = as_the_function.client
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=OTHER_BUCKET, Key="predictions/x", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        client.list_objects_v2(Bucket=OTHER_BUCKET)


def test_iam_is_really_enforced_a_store_without_the_policy_fails(as_the_function: MapStore) -> None:
    """The control: the same calls for another bucket's objects fail as a StorageError."""
    import dataclasses

    elsewhere = dataclasses.replace(as_the_function, bucket=OTHER_BUCKET)
    with pytest.raises(StorageError):
        elsewhere.put_files(new_prediction_id(), {"input.png": lambda: b"x"})


def test_reading_and_deleting_a_file_sent_to_s3_are_allowed(as_the_function: MapStore) -> None:
    form = as_the_function.presign_upload("image/png", max_bytes=1000, expiry_seconds=60)
    # What the presigned POST would put there (signed with the same role's rights).
    as_the_function.client.put_object(Bucket=as_the_function.bucket, Key=form.fields["key"], Body=b"\x89PNG")
    assert as_the_function.read_upload(form.upload_id, max_bytes=1000) == b"\x89PNG"
    as_the_function.discard_upload(form.upload_id)
    with pytest.raises(UploadNotFound):
        as_the_function.read_upload(form.upload_id, max_bytes=1000)


def test_the_role_writes_under_its_two_prefixes_only(as_the_function: MapStore) -> None:
    with pytest.raises(ClientError) as refused:
        as_the_function.client.put_object(Bucket=as_the_function.bucket, Key="elsewhere/x", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
