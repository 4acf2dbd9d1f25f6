"""template.yaml through the AWS SAM transform (AWS's aws-sam-translator, in .venv-sam): what
CloudFormation really creates for the serverless resources, and that the function's role allows
every S3 call the service's code makes, on the right resource."""

from __future__ import annotations

import ast
import json
import subprocess
from functools import cache

import pytest

from tests.infra.lambda_image import REPO_ROOT, template
from tests.infra.tool_venv import tool_venv

pytestmark = pytest.mark.slow

SAM_REQUIREMENTS = REPO_ROOT / "requirements-sam.txt"
PACKAGE = REPO_ROOT / "functions" / "recognizer"

# Every S3 client method the service may call: the IAM action it needs, and whether that action
# is on the bucket or on the objects of which prefixes. A new call missing here fails the test
# below, on purpose.
S3_ACTIONS = {
    # a prediction's PNGs; a correction; a job's job.json, progress markers and results
    "put_object": ("s3:PutObject", ("predictions", "corrections", "jobs")),
    "generate_presigned_url": ("s3:GetObject", ("predictions", "jobs")),  # the URLs it signs are GETs
    "list_objects_v2": ("s3:ListBucket", ("bucket",)),
    "delete_objects": ("s3:DeleteObject", ("predictions",)),
    "generate_presigned_post": ("s3:PutObject", ("uploads", "jobs")),  # the forms it signs upload
    "head_object": ("s3:GetObject", ("uploads",)),
    # an upload; the input a correction keeps; a job's state, files and the engine's results
    "get_object": ("s3:GetObject", ("uploads", "predictions", "jobs")),
    "delete_object": ("s3:DeleteObject", ("uploads",)),
}


@cache
def transformed() -> dict:
    python = tool_venv(".venv-sam", SAM_REQUIREMENTS) / "python"
    done = subprocess.run(
        [str(python), str(REPO_ROOT / "infra" / "sam_transform.py")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def resources_of(kind: str) -> dict[str, dict]:
    return {name: r for name, r in transformed()["Resources"].items() if r["Type"] == kind}


def s3_calls_in_the_service() -> set[str]:
    """Names of methods the service calls on an S3 client (``self.client.x(...)``,
    ``client.x(...)``, ``functools.partial(self.client.x, ...)``...)."""
    calls = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Attribute, ast.Name)):
                owner = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id
                if owner in ("client", "s3", "_client") and not node.attr.startswith("_") and node.attr != "meta":
                    calls.add(node.attr)
    return calls


def test_the_transform_makes_the_function_its_role_and_an_http_api_with_a_default_stage():
    functions = resources_of("AWS::Lambda::Function")
    assert set(functions) == {"RecognizerFunction", "JobBatchFunction"}  # the API's; the bulk jobs' batches
    for name, function in functions.items():
        assert function["Properties"]["PackageType"] == "Image"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}
    (stage,) = resources_of("AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "$default" and stage["Properties"]["AutoDeploy"] is True
    assert stage["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    (api,) = resources_of("AWS::ApiGatewayV2::Api").values()
    route = api["Properties"]["Body"]["paths"]["/api/{proxy+}"]["x-amazon-apigateway-any-method"]
    integration = route["x-amazon-apigateway-integration"]
    assert integration["payloadFormatVersion"] == "2.0"


def test_the_api_may_invoke_the_function_on_api_paths_only():
    (permission,) = resources_of("AWS::Lambda::Permission").values()
    properties = permission["Properties"]
    assert properties["Action"] == "lambda:InvokeFunction"
    assert properties["Principal"] == "apigateway.amazonaws.com"
    assert properties["FunctionName"] == {"Ref": "RecognizerFunction"}
    arn, names = properties["SourceArn"]["Fn::Sub"]
    assert arn.endswith("${__ApiId__}/${__Stage__}/*/api/*") and names["__ApiId__"] == {"Ref": "HttpApi"}


def role_statements(role_name: str = "RecognizerFunctionRole") -> list[dict]:
    role = transformed()["Resources"][role_name]["Properties"]
    return [statement for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


def allowed(action: str, resource: object) -> bool:
    for statement in role_statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and action in actions and statement["Resource"] == resource:
            return True
    return False


def _maps_arn(suffix: str = "") -> dict:
    """The maps bucket's ARN as template.yaml writes it (a computed name, see MapsBucket)."""
    text, variables = template()["Resources"]["MapsBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    return {"Fn::Sub": [f"arn:${{AWS::Partition}}:s3:::{text}{suffix}", variables]}


MAPS_BUCKET = _maps_arn()
PREFIXES = {name: _maps_arn(f"/{name}/*") for name in ("predictions", "uploads", "corrections", "jobs")}


def test_the_functions_role_allows_every_s3_call_the_code_makes_and_no_other_bucket():
    calls = s3_calls_in_the_service()
    assert {
        "put_object",
        "delete_objects",
        "list_objects_v2",
        "generate_presigned_url",
        "generate_presigned_post",
    } <= calls
    unknown = calls - set(S3_ACTIONS)
    assert not unknown, f"add the IAM action of {unknown} to S3_ACTIONS (and to template.yaml)"
    for call in sorted(calls):
        action, scopes = S3_ACTIONS[call]
        for scope in scopes:
            assert allowed(action, PREFIXES.get(scope, MAPS_BUCKET)), (call, action, scope)
    for statement in role_statements():
        if statement["Action"] == "states:StartExecution":  # bulk jobs: started on their state machine only
            assert statement["Resource"] == {"Ref": "JobsStateMachine"}
            continue
        assert statement["Resource"] in (MAPS_BUCKET, *PREFIXES.values()), statement  # nothing beyond its bucket


def test_the_bulk_jobs_roles_reach_the_jobs_prefix_and_the_batch_function_only():
    batch = role_statements("JobBatchFunctionRole")
    assert {json.dumps(s["Resource"], sort_keys=True) for s in batch} == {
        json.dumps(MAPS_BUCKET, sort_keys=True),
        json.dumps(PREFIXES["jobs"], sort_keys=True),
    }
    machine = transformed()["Resources"]["JobsStateMachine"]
    assert machine["Type"] == "AWS::StepFunctions::StateMachine"
    assert machine["Properties"]["RoleArn"] == {"Fn::GetAtt": ["JobsStateMachineRole", "Arn"]}
    for statement in role_statements("JobsStateMachineRole"):
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            text = json.dumps(resource)
            assert "JobBatchFunction" in text or ":states:" in text or resource in (MAPS_BUCKET, PREFIXES["jobs"]), text
    # The definition reaches CloudFormation with its substitutions still to be made.
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    assert substitutions["BatchFunctionArn"] == {"Fn::GetAtt": ["JobBatchFunction", "Arn"]}
    separator, parts = machine["Properties"]["DefinitionString"]["Fn::Join"]
    assert json.loads(separator.join(parts)) == template()["Resources"]["JobsStateMachine"]["Properties"]["Definition"]


def test_the_template_keeps_its_rules_conditions_and_outputs_through_the_transform():
    document = transformed()
    assert "RateLimitNeedsUsEast1" in document["Rules"]
    assert {"HasAlarmEmail", "HasCustomDomain", "HasRateLimit"} <= set(document["Conditions"])
    assert {"SiteUrl", "ApiUrl", "AlarmTopicArn"} <= set(document["Outputs"])


def test_no_serverless_type_is_left_for_cloudformation():
    assert not [r for r in transformed()["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
