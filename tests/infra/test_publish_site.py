"""infra/publish_site.py and infra/deploy.sh against moto: stack outputs, headers, stale objects,
invalidation, and deploy.sh's order of steps and its messages when a tool is missing."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import publish_site
from infra.publish_site import (
    IMMUTABLE,
    NO_CACHE,
    ONE_DAY,
    PublishError,
    cache_control_for,
    content_type_for,
    site_files,
    stack_outputs,
)
from tests.conftest import FAKE_AWS_ENV
from tests.infra.lambda_image import template
from tests.infra.tool_venv import tool_venv

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "digits-test"


@dataclass(frozen=True)
class FakeStack:
    s3: object
    cloudfront: object
    cloudformation: object
    site_bucket: str
    maps_bucket: str
    distribution_id: str


def _outputs_stack_template(site_bucket: str, maps_bucket: str, distribution_id: str) -> str:
    """A stack with template.yaml's output names (moto cannot deploy the SAM template)."""
    return json.dumps(
        {
            "Resources": {
                "Placeholder": {
                    "Type": "AWS::S3::Bucket",
                    "Properties": {"BucketName": f"{site_bucket}-cfn"},
                }
            },
            "Outputs": {
                "SiteBucketName": {"Value": site_bucket},
                "MapsBucketName": {"Value": maps_bucket},
                "DistributionId": {"Value": distribution_id},
                "SiteUrl": {"Value": "https://d111111abcdef8.cloudfront.net"},
            },
        }
    )


def make_fake_stack(clients: dict, stack_name: str, site_bucket: str, maps_bucket: str) -> FakeStack:
    """Buckets, a distribution and a stack whose outputs name them, through these clients."""
    s3, cloudfront, cloudformation = clients["s3"], clients["cloudfront"], clients["cloudformation"]
    for bucket in (site_bucket, maps_bucket):
        s3.create_bucket(Bucket=bucket)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": f"{site_bucket}.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=_outputs_stack_template(site_bucket, maps_bucket, distribution["Id"]),
    )
    return FakeStack(s3, cloudfront, cloudformation, site_bucket, maps_bucket, distribution["Id"])


@pytest.fixture
def fake_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStack]:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("s3", "cloudfront", "cloudformation")}
        yield make_fake_stack(clients, STACK, "site-bucket", "maps-bucket")


def _write_site(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


def test_output_names_are_the_templates():
    outputs = set(template()["Outputs"])
    assert {"SiteBucketName", "MapsBucketName", "DistributionId", "SiteUrl"} <= outputs


@pytest.mark.parametrize(
    ("key", "cache_control"),
    [
        ("index.html", NO_CACHE),
        ("feature_maps.html", NO_CACHE),
        ("sw.js", NO_CACHE),
        ("manifest.webmanifest", NO_CACHE),
        ("js/app.js", NO_CACHE),
        ("css/style.css", NO_CACHE),
        ("js/app.3f9a1c2e7b.js", IMMUTABLE),
        ("assets/logo-0a1b2c3d4e5f.svg", IMMUTABLE),
        ("icons/icon-192.png", ONE_DAY),
        ("icons/favicon-32.png", ONE_DAY),
    ],
)
def test_cache_control_by_kind_of_file(key: str, cache_control: str):
    assert cache_control_for(key) == cache_control


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("css/style.css", "text/css; charset=utf-8"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("icons/icon-192.png", "image/png"),
        ("icons/logo.svg", "image/svg+xml"),
        ("data.bin", "application/octet-stream"),
    ],
)
def test_content_type_by_suffix(key: str, content_type: str):
    assert content_type_for(key) == content_type


def test_entry_points_are_uploaded_after_the_assets_they_name():
    keys = [file.key for file in site_files(REPO_ROOT / "site")]
    entry_points = [k for k in keys if k.endswith(".html") or k in ("sw.js", "manifest.webmanifest")]
    assert "index.html" in entry_points
    assert keys[-len(entry_points) :] == sorted(entry_points)


def test_hidden_files_are_not_published(tmp_path: Path):
    site = _write_site(tmp_path, {"index.html": b"<!doctype html>", ".DS_Store": b"x", ".git/HEAD": b"x"})
    assert [file.key for file in site_files(site)] == ["index.html"]


def test_stack_outputs_are_read_from_cloudformation(fake_stack: FakeStack):
    outputs = stack_outputs(fake_stack.cloudformation, STACK)
    assert outputs.site_bucket == fake_stack.site_bucket
    assert outputs.maps_bucket == fake_stack.maps_bucket
    assert outputs.distribution_id == fake_stack.distribution_id


def test_a_missing_stack_is_a_clear_error(fake_stack: FakeStack):
    with pytest.raises(PublishError, match="no-such-stack"):
        stack_outputs(fake_stack.cloudformation, "no-such-stack")


def test_publish_uploads_with_headers_deletes_stale_and_invalidates(fake_stack: FakeStack, tmp_path: Path):
    s3 = fake_stack.s3
    s3.put_object(Bucket=fake_stack.site_bucket, Key="old/gone.js", Body=b"stale")
    site = _write_site(
        tmp_path,
        {"index.html": b"<!doctype html><title>t</title>", "js/app.js": b"export {};", "icons/i.png": b"\x89PNG"},
    )
    outputs = stack_outputs(fake_stack.cloudformation, STACK)

    report = publish_site.publish(site, outputs, s3, fake_stack.cloudfront)

    listing = s3.list_objects_v2(Bucket=fake_stack.site_bucket)
    assert sorted(item["Key"] for item in listing["Contents"]) == ["icons/i.png", "index.html", "js/app.js"]
    assert report.deleted == ["old/gone.js"]
    page = s3.get_object(Bucket=fake_stack.site_bucket, Key="index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["CacheControl"] == NO_CACHE
    assert page["Body"].read() == b"<!doctype html><title>t</title>"
    icon = s3.head_object(Bucket=fake_stack.site_bucket, Key="icons/i.png")
    assert (icon["ContentType"], icon["CacheControl"]) == ("image/png", ONE_DAY)
    invalidation = fake_stack.cloudfront.get_invalidation(
        DistributionId=fake_stack.distribution_id, Id=report.invalidation_id
    )["Invalidation"]
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


def test_publish_refuses_a_folder_without_index_html(fake_stack: FakeStack, tmp_path: Path):
    site = _write_site(tmp_path, {"other.html": b"x"})
    outputs = stack_outputs(fake_stack.cloudformation, STACK)
    with pytest.raises(PublishError, match=r"index\.html"):
        publish_site.publish(site, outputs, fake_stack.s3, fake_stack.cloudfront)
    assert "Contents" not in fake_stack.s3.list_objects_v2(Bucket=fake_stack.site_bucket)


def test_main_empties_both_buckets(fake_stack: FakeStack, capsys: pytest.CaptureFixture[str]):
    for bucket in (fake_stack.site_bucket, fake_stack.maps_bucket):
        for n in range(3):
            fake_stack.s3.put_object(Bucket=bucket, Key=f"k{n}", Body=b"x")

    assert publish_site.main(["--stack-name", STACK, "--region", "us-east-1", "--empty"]) == 0

    for bucket in (fake_stack.site_bucket, fake_stack.maps_bucket):
        assert "Contents" not in fake_stack.s3.list_objects_v2(Bucket=bucket)
    assert "3 objects deleted" in capsys.readouterr().out


def test_main_publishes_the_real_site(fake_stack: FakeStack, capsys: pytest.CaptureFixture[str]):
    assert publish_site.main(["--stack-name", STACK, "--region", "us-east-1"]) == 0

    listing = fake_stack.s3.list_objects_v2(Bucket=fake_stack.site_bucket)
    published = {item["Key"] for item in listing["Contents"]}
    assert published == {file.key for file in site_files(REPO_ROOT / "site")}
    assert "https://d111111abcdef8.cloudfront.net" in capsys.readouterr().out


# --- infra/deploy.sh ------------------------------------------------------------------------

DEPLOY = REPO_ROOT / "infra" / "deploy.sh"
NO_AWS_CONFIG = {
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def fake_tools(bin_dir: Path, log: Path, *, sam: bool = True, docker_running: bool | None = True) -> Path:
    """``sam`` and ``docker`` stand-ins that log their arguments; the folder holding them."""
    bin_dir.mkdir(exist_ok=True)
    scripts = {}
    if sam:
        scripts["sam"] = f'echo "sam $*" >> {log}'
    if docker_running is not None:
        scripts["docker"] = f'echo "docker $*" >> {log}\nexit {0 if docker_running else 1}'
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


DEPLOY_REQUIREMENTS = REPO_ROOT / "requirements-deploy.txt"


@pytest.fixture
def deploy_venv() -> Path:
    """.venv-deploy as deploy.sh makes it (boto3 alone); its python."""
    return tool_venv(".venv-deploy", DEPLOY_REQUIREMENTS) / "python"


def test_deploy_needs_boto3_alone_not_the_tensorflow_dev_venv(deploy_venv: Path):
    """deploy.sh's Python work runs in a venv of boto3 alone (the function's own pin), which it
    makes itself; publishing the site needs nothing more."""
    script = DEPLOY.read_text()
    assert ".venv/" not in script and 'PY="${PY:-$DEPLOY_VENV/bin/python}"' in script
    pins = [line for line in DEPLOY_REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    serving = (REPO_ROOT / "functions" / "requirements.txt").read_text().splitlines()
    assert pins == [line for line in serving if line.startswith("boto3==")]
    probe = "import infra.publish_site, importlib.util; print(importlib.util.find_spec('numpy') is None)"
    done = subprocess.run([str(deploy_venv), "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # and nothing of the dev venv is there


def run_deploy(bin_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **NO_AWS_CONFIG}
    return subprocess.run(
        ["bash", str(DEPLOY), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_stages_are_samconfigs_environments_each_with_its_own_stack():
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    stacks = {}
    for environment, stage in (("default", "prod"), ("dev", "dev")):
        deploy = config[environment]["deploy"]["parameters"]
        assert f'Stage="{stage}"' in deploy["parameter_overrides"]
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_image_repos"] is True
        stacks[stage] = config[environment]["global"]["parameters"]["stack_name"]
    assert stacks == {"prod": "digits", "dev": "digits-dev"}


def test_deploy_refuses_a_stage_samconfig_does_not_have(tmp_path: Path):
    log = tmp_path / "log"
    done = run_deploy(fake_tools(tmp_path / "bin", log), {"STAGE": "qa"})
    assert done.returncode == 1 and "STAGE must be prod or dev" in done.stderr
    assert not log.exists()


def test_deploy_says_how_to_get_sam_when_it_is_missing(tmp_path: Path):
    done = run_deploy(fake_tools(tmp_path / "bin", tmp_path / "log", sam=False), {})
    assert done.returncode == 1
    assert "SAM CLI" in done.stderr and "pip install aws-sam-cli" in done.stderr


def test_deploy_says_when_the_docker_engine_is_not_running(tmp_path: Path):
    done = run_deploy(fake_tools(tmp_path / "bin", tmp_path / "log", docker_running=False), {})
    assert done.returncode == 1
    assert "engine is not running" in done.stderr


def test_deploy_says_when_there_are_no_aws_credentials(tmp_path: Path, deploy_venv: Path):
    log = tmp_path / "log"
    done = run_deploy(fake_tools(tmp_path / "bin", log), {"AWS_REGION": "us-east-1"})
    assert done.returncode == 1
    assert "no usable AWS credentials" in done.stderr
    assert "sam build" not in log.read_text()


def test_deploy_builds_deploys_then_publishes_the_site(tmp_path: Path, moto_server_endpoint: str, deploy_venv: Path):
    """The whole `make deploy` with sam and docker stood in for, AWS played by moto's server."""
    env = {**FAKE_AWS_ENV, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_server_endpoint}
    clients = {
        name: boto3.client(
            name,
            endpoint_url=moto_server_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for name in ("s3", "cloudfront", "cloudformation")
    }
    suffix = uuid.uuid4().hex[:10]
    stack = make_fake_stack(clients, f"digits-{suffix}", f"site-{suffix}", f"maps-{suffix}")
    log = tmp_path / "log"

    done = run_deploy(fake_tools(tmp_path / "bin", log), {**env, "STACK_NAME": f"digits-{suffix}"})

    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        "docker info",
        "sam build --config-env default",
        f"sam deploy --config-env default --stack-name digits-{suffix} --region us-east-1",
    ]
    listing = stack.s3.list_objects_v2(Bucket=stack.site_bucket)
    assert {item["Key"] for item in listing["Contents"]} == {file.key for file in site_files(REPO_ROOT / "site")}
    assert "site: https://" in done.stdout
