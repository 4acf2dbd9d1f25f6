"""The bulk jobs' entry point runs from what the image holds: template.yaml's JobBatchFunction is
the API's image with another command, so recognizer.batch_handler.handler must import and answer
a Distributed Map batch from the files the Dockerfile copies alone (no repository, no TensorFlow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recognizer.jobs import files_prefix, new_job_id
from tests.conftest import FAKE_AWS_ENV, S3Handle
from tests.infra.lambda_image import REPO_ROOT, image_environment, materialize_task_root, template

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys
from recognizer.batch_handler import handler
answer = handler(json.load(open(sys.argv[1])), None)
print(json.dumps({"answer": answer, "package": sys.modules["recognizer"].__file__,
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def test_the_batch_entry_point_answers_a_batch_from_the_image_files(
    tmp_path: Path, moto_server_s3: S3Handle, digit_png
) -> None:
    job_id = new_job_id()
    files = {"two.png": digit_png(2), "torn.png": digit_png(5)[:70]}
    for name, data in files.items():
        moto_server_s3.client.put_object(Bucket=moto_server_s3.bucket, Key=files_prefix(job_id) + name, Body=data)
    items = [
        {
            "Etag": '"x"',
            "Key": files_prefix(job_id) + name,
            "LastModified": 0,
            "Size": len(data),
            "StorageClass": "STANDARD",
        }
        for name, data in files.items()
    ]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Items": items, "BatchInput": {"job_id": job_id, "kind": "digit"}}))
    task_root = materialize_task_root(tmp_path / "task")
    variables = template()["Resources"]["JobBatchFunction"]["Properties"]["Environment"]["Variables"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **FAKE_AWS_ENV,
        **{name: str(value) for name, value in variables.items() if not isinstance(value, dict)},
        **image_environment(task_root),
        "PYTHONPATH": str(task_root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MAPS_BUCKET": moto_server_s3.bucket,
        "S3_ENDPOINT_URL": str(moto_server_s3.endpoint),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(event)], cwd=task_root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(task_root) and not Path(report["package"]).is_relative_to(
        REPO_ROOT / "functions"
    )
    assert report["tensorflow"] is False
    lines = report["answer"]["results"]
    assert [(line["file"], line["digit"], line["error"]) for line in lines] == [
        ("two.png", 2, None),
        ("torn.png", None, "invalid_image"),
    ]
