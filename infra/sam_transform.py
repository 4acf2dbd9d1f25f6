"""Print template.yaml as CloudFormation receives it: after the AWS SAM transform.

    .venv-sam/bin/python infra/sam_transform.py [template.yaml] [--region eu-west-1]

Runs AWS's own translator (aws-sam-translator, what CloudFormation runs for
``Transform: AWS::Serverless-2016-10-31``) without AWS: no managed policy is looked up (the
template names none by name). Runs in .venv-sam (requirements-sam.txt): the translator pins a
pydantic older than the service's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[1]


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs by name only when a template names one."""

    def load(self) -> dict[str, str]:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", nargs="?", type=Path, default=REPO / "template.yaml")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument(
        "--image-uri",
        default="123456789012.dkr.ecr.eu-west-1.amazonaws.com/digits:recognizerfunction-python3.12-v1",
        help="the image `sam deploy` would have pushed (it writes ImageUri into the template it sends)",
    )
    args = parser.parse_args(argv)
    # The translator fills AWS::Region from boto3's session: this region, not the caller's.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.pop("AWS_REGION", None)
    source = yaml_parse(args.template.read_text())
    for resource in source["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and resource["Properties"].get("PackageType") == "Image":
            resource["Properties"].setdefault("ImageUri", args.image_uri)
    parameters = {"AWS::Region": args.region, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    output = transform(source, parameters, NoManagedPolicies())
    json.dump(output, sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
