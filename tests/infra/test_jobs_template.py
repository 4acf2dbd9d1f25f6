"""template.yaml's bulk jobs: the state machine (a Distributed Map over the job's prefix), the
batch function (the same image, the batch entry point) and their least-privilege roles."""

from __future__ import annotations

import importlib
import json

import pytest
from cfnlint.api import lint_all

from recognizer import jobs
from tests.infra.cfn_values import Stack
from tests.infra.lambda_image import template

BUCKET = "digits-maps-prod-eu-west-1-abcd1234"
BATCH_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:batch"


def resources() -> dict:
    return template()["Resources"]


def machine() -> dict:
    return resources()["JobsStateMachine"]["Properties"]


def definition() -> dict:
    return machine()["Definition"]


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def substituted(text_of_definition: str) -> dict:
    """The definition as Step Functions receives it (DefinitionSubstitutions applied)."""
    values = {"MapsBucket": BUCKET, "BatchFunctionArn": BATCH_ARN, "MaxConcurrency": "5", "BatchFiles": "50"}
    for name, value in values.items():
        text_of_definition = text_of_definition.replace("${" + name + "}", value)
    assert "${" not in text_of_definition
    return json.loads(text_of_definition)


def state_machine_problems(document: dict) -> list[str]:
    """cfn-lint's errors and warnings for a state machine with ``document`` as its definition
    (its ASL schema, E3601; it does not look inside SAM's DefinitionString)."""
    template_text = json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "Jobs": {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/jobs", "Definition": document},
                }
            },
        }
    )
    return [str(match) for match in lint_all(template_text) if match.rule.id[0] in "EW"]


def test_the_definition_passes_cfn_lints_state_machine_schema() -> None:
    assert state_machine_problems(substituted(json.dumps(definition()))) == []


def test_the_schema_check_is_real_a_broken_definition_fails_it() -> None:
    broken = substituted(json.dumps(definition()).replace('"Type": "Map"', '"Type": "Mapp"'))
    assert state_machine_problems(broken)


def test_a_distributed_map_lists_the_jobs_files_in_batches_and_writes_its_results_under_the_job() -> None:
    states = definition()["States"]
    configure, read = states["Configure"], states["ReadFiles"]
    assert definition()["StartAt"] == "Configure" and configure["Next"] == "ReadFiles"
    assert read["Type"] == "Map" and read["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert read["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "${MapsBucket}", "Prefix.$": "$.files_prefix"},
    }
    assert read["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.batch_files"
    assert read["ItemBatcher"]["BatchInput"] == {"job_id.$": "$.job_id", "kind.$": "$.kind"}
    assert read["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert read["ResultWriter"]["Parameters"] == {"Bucket": "${MapsBucket}", "Prefix.$": "$.results_prefix"}
    # A failed batch fails its files, not the job: they get a line with its error.
    assert read["ToleratedFailurePercentage"] == 100
    # What the API starts it with is what it reads.
    started = jobs.engine_input("0" * 32, "digit")
    for path in ("$.job_id", "$.kind", "$.files_prefix", "$.results_prefix"):
        assert path in configure["Parameters"].values() and path[2:] in started
    assert started["files_prefix"] == jobs.files_prefix("0" * 32)
    assert started["results_prefix"].startswith(jobs.results_prefix("0" * 32))


def test_max_concurrency_and_the_batch_size_are_parameters() -> None:
    read, configure = definition()["States"]["ReadFiles"], definition()["States"]["Configure"]["Parameters"]
    assert read["MaxConcurrencyPath"] == "$.max_concurrency"
    assert configure["max_concurrency.$"] == "States.StringToJson('${MaxConcurrency}')"
    assert configure["batch_files.$"] == "States.StringToJson('${BatchFiles}')"
    substitutions = machine()["DefinitionSubstitutions"]
    assert substitutions["MaxConcurrency"] == {"Ref": "JobMaxConcurrency"}
    assert substitutions["BatchFiles"] == {"Ref": "JobBatchFiles"}
    parameters = template()["Parameters"]
    assert parameters["JobMaxConcurrency"]["Type"] == "Number" and parameters["JobMaxConcurrency"]["MaxValue"] == 10000
    from recognizer.settings import Settings

    assert int(parameters["JobBatchFiles"]["Default"]) == Settings().job_batch_files  # alike locally


def test_each_batch_and_the_last_steps_invoke_the_batch_function() -> None:
    states = definition()["States"]
    batch = states["ReadFiles"]["ItemProcessor"]["States"]["ReadBatch"]
    assert batch["Resource"] == "arn:aws:states:::lambda:invoke"
    assert batch["Parameters"] == {"FunctionName": "${BatchFunctionArn}", "Payload.$": "$"}
    assert batch["OutputPath"] == "$.Payload"
    finish = states["WriteResults"]
    assert states["ReadFiles"]["Next"] == "WriteResults" and states["ReadFiles"]["ResultPath"] == "$.map"
    assert finish["Parameters"]["Payload"] == {
        "action": "finish",
        "job_id.$": "$.job_id",
        "manifest.$": "$.map.ResultWriterDetails.Key",
    }
    for name in ("ReadFiles", "WriteResults"):
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "MarkFailed"
    assert states["MarkFailed"]["Parameters"]["Payload"]["action"] == "fail"
    assert states["MarkFailed"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    assert machine()["DefinitionSubstitutions"]["BatchFunctionArn"] == {"Fn::GetAtt": ["JobBatchFunction", "Arn"]}


def test_the_batch_function_is_the_same_image_with_the_batch_entry_point() -> None:
    api, batch = resources()["RecognizerFunction"], resources()["JobBatchFunction"]
    for key in ("DockerTag", "DockerContext", "Dockerfile"):
        assert batch["Metadata"][key] == api["Metadata"][key]
    (command,) = batch["Properties"]["ImageConfig"]["Command"]
    assert command == "recognizer.batch_handler.handler"
    # An EXPRESS child execution lasts at most five minutes.
    assert batch["Properties"]["Timeout"] < 300
    variables = api["Properties"]["Environment"]["Variables"]
    assert variables["JOBS_STATE_MACHINE_ARN"] == {"Ref": "JobsStateMachine"}


def test_the_batch_entry_point_exists_where_the_command_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    module_name = "recognizer.batch_handler"
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    module = importlib.import_module(module_name)
    assert callable(module.handler)
    monkeypatch.delitem(sys.modules, module_name)


def _statements(resource: str) -> list[dict]:
    (policy,) = resources()[resource]["Properties"]["Policies"]
    return list(policy["Statement"])


def test_the_batch_functions_role_reaches_the_jobs_prefix_only() -> None:
    deployed = Stack(template(), name="digits", region="us-east-1")
    bucket = deployed.resolve(resources()["MapsBucket"]["Properties"]["BucketName"])
    granted = {}
    for statement in _statements("JobBatchFunction"):
        assert statement["Effect"] == "Allow"
        granted[deployed.resolve(statement["Resource"])] = set(as_list(statement["Action"]))
        if statement["Action"] == "s3:ListBucket":
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["jobs/*"]}}
    assert granted == {
        f"arn:aws:s3:::{bucket}/jobs/*": {"s3:GetObject", "s3:PutObject"},
        f"arn:aws:s3:::{bucket}": {"s3:ListBucket"},
    }


def test_the_state_machines_role_invokes_the_batch_function_and_writes_under_jobs_only() -> None:
    deployed = Stack(template(), name="digits", region="us-east-1")
    bucket = deployed.resolve(resources()["MapsBucket"]["Properties"]["BucketName"])
    name = deployed.resolve(machine()["Name"])
    granted: dict[str, set[str]] = {}
    for statement in _statements("JobsStateMachine"):
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            granted.setdefault(str(deployed.resolve(resource)), set()).update(as_list(statement["Action"]))
        if statement["Action"] == "s3:ListBucket":
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["jobs/*"]}}
    function = str(deployed.resolve({"Fn::GetAtt": ["JobBatchFunction", "Arn"]}))
    assert granted == {
        function: {"lambda:InvokeFunction"},
        f"{function}:*": {"lambda:InvokeFunction"},  # its versions, if ever published
        f"arn:aws:s3:::{bucket}": {"s3:ListBucket"},
        f"arn:aws:s3:::{bucket}/jobs/*": {
            "s3:GetObject",
            "s3:PutObject",
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
        },
        f"arn:aws:states:us-east-1:{deployed.pseudo('AWS::AccountId')}:stateMachine:{name}": {"states:StartExecution"},
        f"arn:aws:states:us-east-1:{deployed.pseudo('AWS::AccountId')}:execution:{name}/*": {
            "states:DescribeExecution",
            "states:StopExecution",
        },
    }
    assert all("*" not in action for actions in granted.values() for action in actions)


def test_a_jobs_objects_expire_and_the_docs_say_when() -> None:
    (rule,) = [
        r
        for r in resources()["MapsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        if r.get("Prefix") == "jobs/"
    ]
    assert rule["ExpirationInDays"] == 7 and rule["Status"] == "Enabled"
    from tests.infra.lambda_image import REPO_ROOT

    for doc in ("README.md", "docs/deploy.md"):
        assert "within seven to eight days" in " ".join((REPO_ROOT / doc).read_text().split()), doc


def test_the_batch_functions_environment_sets_only_variables_the_code_reads() -> None:
    import re

    from recognizer.settings import ENVIRONMENT

    variables = resources()["JobBatchFunction"]["Properties"]["Environment"]["Variables"]
    api_variables = resources()["RecognizerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MAPS_BUCKET"] == api_variables["MAPS_BUCKET"]  # the same bucket
    own = {name for name in variables if not re.match(r"POWERTOOLS_", name)}
    assert own <= set(ENVIRONMENT.values()), own - set(ENVIRONMENT.values())
