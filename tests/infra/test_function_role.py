"""The service's S3 calls under moto with IAM enforced, signed by a user that holds exactly the
function's policy from template.yaml: everything the service does is allowed, nothing else.

moto answers a missing key 404 to anyone; S3 answers 404 only to a caller that may list the
bucket (s3:ListBucket on it, its conditions met by a request that names no prefix) and 403 to
everyone else. ``answer_missing_keys_as_s3_does`` makes moto do the same here.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from recognizer.api import create_app
from recognizer.errors import JobNotFound, StorageError, UploadNotFound
from recognizer.networks import Networks
from recognizer.service import Recognizer
from recognizer.settings import Settings
from recognizer.storage import Credentials, MapStore, new_prediction_id, open_store
from tests.conftest import in_bucket
from tests.infra.cfn_values import Stack
from tests.infra.lambda_image import template

OTHER_BUCKET = "somebody-elses-bucket"
SETUP_CALLS = 5  # made before IAM is enforced: two buckets, a user, its policy, its keys


def function_policy(bucket: str, function: str = "RecognizerFunction") -> dict:
    """A function's S3 policy as CloudFormation makes it, naming ``bucket`` as its maps bucket
    (its other statements, such as starting the jobs' state machine, are not S3's)."""
    deployed = Stack(template(), name="digits", region="us-east-1")
    maps_bucket = deployed.resolve(template()["Resources"]["MapsBucket"]["Properties"]["BucketName"])
    (policy,) = template()["Resources"][function]["Properties"]["Policies"]
    statements = [
        {**s, "Resource": deployed.resolve(s["Resource"]).replace(f":::{maps_bucket}", f":::{bucket}")}
        for s in policy["Statement"]
        if str(s["Action"]).startswith(("s3:", "['s3:"))
    ]
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


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns: object, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in _as_list(patterns))


def _conditions_hold(condition: dict, context: dict[str, str]) -> bool:
    """IAM's conditions for the operators the function's policy uses. A key the request does
    not carry fails the condition, unless the operator ends in ``IfExists`` (or is ``Null``)."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            if key not in context:
                holds = str(expected).lower() == "true" if operator == "Null" else operator.endswith("IfExists")
            elif operator.removesuffix("IfExists") == "StringLike":
                holds = _matches(expected, context[key])
            elif operator.removesuffix("IfExists") == "StringEquals":
                holds = context[key] in _as_list(expected)
            else:
                raise NotImplementedError(f"condition operator {operator} is not modelled here")
            if not holds:
                return False
    return True


def allows(policy: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether an identity policy allows ``action`` on ``resource`` in a request whose
    condition keys are ``context`` (an explicit Deny wins)."""
    allowed = False
    for statement in policy["Statement"]:
        if not (_matches(statement["Action"], action) and _matches(statement["Resource"], resource)):
            continue
        if not _conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def may_list_without_a_prefix(policy: dict, bucket: str) -> bool:
    """Whether ``policy`` lets a HeadObject or GetObject learn that a key of ``bucket`` is
    missing: S3 asks for s3:ListBucket on the bucket in a request that names no s3:prefix."""
    return allows(policy, "s3:ListBucket", f"arn:aws:s3:::{bucket}", context={})


def answer_missing_keys_as_s3_does(monkeypatch: pytest.MonkeyPatch, policy: dict) -> None:
    """As S3 does and moto does not: HeadObject and GetObject of a missing key answer 403
    (AccessDenied) unless ``policy`` may list the bucket without a prefix, and a listing is
    allowed only where the policy's s3:prefix conditions allow its prefix (moto ignores
    StringLike conditions)."""
    import moto.settings
    from moto.core.responses import ActionAuthenticatorMixin
    from moto.s3.exceptions import BucketAccessDeniedError, MissingKey, S3AccessDeniedError
    from moto.s3.responses import S3Response

    head, get = S3Response.head_object, S3Response._key_response_get
    authorize = S3Response._authenticate_and_authorize_s3_action

    def enforced() -> bool:
        return ActionAuthenticatorMixin.request_count >= moto.settings.INITIAL_NO_AUTH_ACTION_COUNT

    def head_object(self, bucket_name, query, key_name, headers):
        status, response_headers, body = head(self, bucket_name, query, key_name, headers)
        if status == 404 and enforced() and not may_list_without_a_prefix(policy, bucket_name):
            return 403, response_headers, ""
        return status, response_headers, body

    def get_object(self, query, key_name):
        try:
            return get(self, query, key_name)
        except MissingKey:
            if not enforced() or may_list_without_a_prefix(policy, self.bucket_name):
                raise
            raise S3AccessDeniedError() from None

    def listing_by_prefix(self, bucket_name=None, key_name=None):
        authorize(self, bucket_name=bucket_name, key_name=key_name)
        if enforced() and key_name is None and self.data.get("Action") == "ListBucket":
            prefix = self.querystring.get("prefix", [None])[0]
            context = {} if prefix is None else {"s3:prefix": prefix}
            if not allows(policy, "s3:ListBucket", f"arn:aws:s3:::{bucket_name}", context):
                raise BucketAccessDeniedError(bucket=bucket_name)

    monkeypatch.setattr(S3Response, "head_object", head_object)
    monkeypatch.setattr(S3Response, "_key_response_get", get_object)
    monkeypatch.setattr(S3Response, "_authenticate_and_authorize_s3_action", listing_by_prefix)


@pytest.fixture
def as_the_function(aws_env: None, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[MapStore]:
    """A store whose client signs as a user holding only the function's policy, IAM enforced."""
    yield from signed_as("RecognizerFunction", settings, monkeypatch)


@pytest.fixture
def as_the_batch_function(aws_env: None, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[MapStore]:
    """The same, holding the bulk jobs' batch function's policy (JobBatchFunction)."""
    yield from signed_as("JobBatchFunction", settings, monkeypatch)


def signed_as(function: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[MapStore]:
    import moto.settings
    from moto import mock_aws
    from moto.core.responses import ActionAuthenticatorMixin

    # What moto's set_initial_no_auth_action_count decorator does, for a fixture: IAM is
    # enforced after the setup's calls; monkeypatch puts both back afterwards.
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", SETUP_CALLS)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    authorize_multi_delete_per_key(monkeypatch)
    answer_missing_keys_as_s3_does(monkeypatch, function_policy(settings.maps_bucket, function))
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
            PolicyDocument=json.dumps(function_policy(settings.maps_bucket, function)),
        )
        keys = iam.create_access_key(UserName="recognizer")["AccessKey"]
        # The client's PutObject (mock_aws sees no other): the same action the bucket writer's PUT is.
        store = open_store(settings, Credentials(keys["AccessKeyId"], keys["SecretAccessKey"]), direct_puts=False)
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
    elsewhere = in_bucket(as_the_function, OTHER_BUCKET)
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


def test_the_role_writes_under_its_own_prefixes_only(as_the_function: MapStore) -> None:
    with pytest.raises(ClientError) as refused:
        as_the_function.client.put_object(Bucket=as_the_function.bucket, Key="elsewhere/x", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_s3_is_played_faithfully_a_missing_key_is_403_to_the_function(as_the_function: MapStore) -> None:
    """The control for the tests below: the function's role may not list its bucket without a
    prefix, so S3 (and moto here) will not tell it that a key is missing."""
    client, bucket = as_the_function.client, as_the_function.bucket
    for call in (client.head_object, client.get_object):
        with pytest.raises(ClientError) as refused:
            call(Bucket=bucket, Key=f"uploads/{new_prediction_id()}")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not may_list_without_a_prefix(function_policy(bucket), bucket)
    with pytest.raises(ClientError):  # nor list outside its own prefixes
        client.list_objects_v2(Bucket=bucket, Prefix="elsewhere/")
    unconditional = {
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}]
    }
    assert may_list_without_a_prefix(unconditional, bucket)


def test_an_upload_never_sent_used_or_expired_is_not_found_not_a_storage_failure(as_the_function: MapStore) -> None:
    with pytest.raises(UploadNotFound):
        as_the_function.read_upload(new_prediction_id(), max_bytes=1000)


def test_an_upload_the_role_may_not_read_is_still_a_storage_failure(as_the_function: MapStore) -> None:
    """403 is "missing" only where the listing says so: in a bucket the role may not list, a
    403 stays what it is (503 storage_unavailable), never a client's 404."""
    elsewhere = in_bucket(as_the_function, OTHER_BUCKET)
    with pytest.raises(StorageError):
        elsewhere.read_upload(new_prediction_id(), max_bytes=1000)


def test_the_api_answers_a_missing_upload_404_and_a_batch_fails_that_file_alone(
    as_the_function: MapStore, settings: Settings, networks: Networks, digit_png
) -> None:
    recognizer = Recognizer(settings, networks, as_the_function)
    sent = as_the_function.presign_upload("image/png", max_bytes=100_000, expiry_seconds=60)
    as_the_function.client.put_object(Bucket=as_the_function.bucket, Key=sent.fields["key"], Body=digit_png(7))
    unknown = new_prediction_id()
    with TestClient(create_app(recognizer), raise_server_exceptions=False) as client:
        for route in ("/api/predict", "/api/predict/multi"):
            answer = client.post(route, json={"upload_id": unknown})
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "upload_not_found"
        batch = client.post("/api/predict/batch", json={"upload_ids": [sent.upload_id, unknown, sent.upload_id]})
    assert batch.status_code == 200, batch.text
    first, missing, used = batch.json()["results"]
    assert first["predicted_digit"] == 7
    assert missing["error"]["code"] == used["error"]["code"] == "upload_not_found"


def test_a_correction_is_kept_under_corrections_which_the_role_may_write_and_nothing_more(
    as_the_function: MapStore, settings: Settings, networks: Networks, digit_png
) -> None:
    recognizer = Recognizer(settings, networks, as_the_function)
    with TestClient(create_app(recognizer), raise_server_exceptions=False) as client:
        answer = client.post("/api/predict", files={"image": ("four.png", digit_png(4), "image/png")}).json()
        prediction_id = answer["prediction_id"]
        sent = client.post(f"/api/predictions/{prediction_id}/correction", json={"digit": 9, "consent": True})
        assert sent.status_code == 201, sent.text
        # A prediction that is gone: S3 answers the role 403 for it, the API a client's 404.
        gone = client.post(f"/api/predictions/{new_prediction_id()}/correction", json={"digit": 9, "consent": True})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found", gone.text
    s3, bucket, key = as_the_function.client, as_the_function.bucket, f"corrections/{prediction_id}"
    refusals = {
        "read": lambda: s3.get_object(Bucket=bucket, Key=key),
        "list": lambda: s3.list_objects_v2(Bucket=bucket, Prefix="corrections/"),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key=key),
    }
    for what, call in refusals.items():
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, what


# --- bulk jobs -------------------------------------------------------------------------------


class NoEngine:
    """Starts nothing (the state machine's own role is checked in test_jobs_template.py)."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, job_id: str, kind: str) -> None:
        self.started.append(job_id)


def test_the_apis_job_calls_are_allowed_under_jobs_and_nothing_of_a_jobs_beyond(as_the_function: MapStore) -> None:
    from recognizer.jobs import Jobs, JobStore, csv_key

    store = JobStore(as_the_function.client, as_the_function.bucket, 900)
    engine = NoEngine()
    jobs = Jobs(store, engine, max_files=5, max_file_bytes=1000, upload_expiry=60)
    ticket = jobs.create()
    for name in ("a.png", "b.png"):  # what the presigned POST, signed by this role, may put there
        store.put(ticket.upload.key_prefix + name, b"\x89PNG", "image/png")
    started = jobs.start(ticket.job_id, "digit")
    assert (started.status, started.files, engine.started) == ("running", 2, [ticket.job_id])
    assert jobs.status(ticket.job_id).done == 0  # lists the progress markers
    with pytest.raises(JobNotFound):  # a job never made: 404, not a storage failure (S3 says 403)
        jobs.status(new_prediction_id())
    with pytest.raises(ClientError) as refused:  # it never deletes a job's objects
        as_the_function.client.delete_object(Bucket=as_the_function.bucket, Key=csv_key(ticket.job_id))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_the_batch_functions_calls_are_allowed_under_jobs_only(
    as_the_batch_function: MapStore, settings: Settings, networks: Networks, digit_png
) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    from recognizer.jobs import JobStore, JobWorker, engine_results_prefix, files_prefix, new_job_id
    from recognizer.schemas import JobRecord

    s3, bucket = as_the_batch_function.client, as_the_batch_function.bucket
    store = JobStore(s3, bucket, 900)
    job_id = new_job_id()
    store.write_record(JobRecord(job_id=job_id, status="running", kind="digit", files=2, created_at=time.time()))
    store.put(files_prefix(job_id) + "a.png", digit_png(4), "image/png")
    items = [
        {"Key": files_prefix(job_id) + name, "Size": 10, "Etag": '"x"', "LastModified": 0, "StorageClass": "STANDARD"}
        for name in ("a.png", "gone.png")
    ]
    with ThreadPoolExecutor(2) as readers:
        worker = JobWorker(Recognizer(settings, networks, None), store, 1000, readers)
        output = worker.handle({"Items": items, "BatchInput": {"job_id": job_id, "kind": "digit"}})
        assert [line["error"] for line in output["results"]] == [None, "file_not_found"]  # 403 to the role
        prefix = f"{engine_results_prefix(job_id)}/run/"
        record = [{"Status": "SUCCEEDED", "Output": json.dumps(output), "Input": "{}"}]
        store.put(prefix + "SUCCEEDED_0.json", json.dumps(record).encode(), "application/json")
        manifest = {"ResultFiles": {"SUCCEEDED": [{"Key": prefix + "SUCCEEDED_0.json"}], "FAILED": []}}
        store.put(prefix + "manifest.json", json.dumps(manifest).encode(), "application/json")
        assert worker.handle({"action": "finish", "job_id": job_id, "manifest": prefix + "manifest.json"})["files"] == 2
    for key in ("predictions/x/input.png", "uploads/" + new_prediction_id(), "corrections/x"):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, key
    with pytest.raises(ClientError):
        s3.list_objects_v2(Bucket=bucket, Prefix="uploads/")
