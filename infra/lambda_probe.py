"""Invoke a Lambda handler by its dotted name on events from a JSON file, in a process of its own.

    python infra/lambda_probe.py HANDLER EVENTS_JSON [--watch DIR]

Prints one JSON object: each response (status, parsed body, seconds), the import time, the
peak RSS, where the handler's package was imported from, whether TensorFlow was loaded, and
(with --watch) every file under DIR the process opened. It imports nothing but the standard
library before the handler, so it runs in the clean serving venv as well as in the dev one,
and what it measures is the handler's own footprint. Configuration comes from the environment
(MAPS_BUCKET, S3_ENDPOINT_URL, MODEL_DIR, ... as in recognizer.settings).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path


class _Context:
    """The attributes Powertools reads from Lambda's context object."""

    function_name = "recognizer-probe"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:recognizer-probe"
    aws_request_id = "probe"
    log_group_name = "/aws/lambda/recognizer-probe"
    log_stream_name = "probe"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def _watch_opens(root: Path, opened: set[str]) -> None:
    prefix = str(root.resolve()) + os.sep

    def hook(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], str):
            path = os.path.abspath(args[0])
            if path.startswith(prefix):
                opened.add(path)

    sys.addaudithook(hook)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("handler", help="dotted name, e.g. recognizer.handler.handler")
    parser.add_argument("events", type=Path, help="a JSON list of events")
    parser.add_argument("--watch", type=Path, help="report files opened under this folder")
    args = parser.parse_args()
    events = json.loads(args.events.read_text())

    opened: set[str] = set()
    if args.watch:
        _watch_opens(args.watch, opened)

    module_name, _, attribute = args.handler.rpartition(".")
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    import_seconds = time.perf_counter() - started

    responses = []
    for event in events:
        started = time.perf_counter()
        response = handler(event, _Context())
        seconds = time.perf_counter() - started
        body = response.get("body") or ""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body
        responses.append({"status": response["statusCode"], "body": parsed, "seconds": seconds})

    package = sys.modules[args.handler.split(".")[0]]
    print(
        json.dumps(
            {
                "import_seconds": import_seconds,
                "responses": responses,
                # Linux reports ru_maxrss in KiB.
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "package_file": getattr(package, "__file__", None),
                "tensorflow_loaded": any(name.split(".")[0] == "tensorflow" for name in sys.modules),
                "opened": sorted(opened),
            }
        )
    )


if __name__ == "__main__":
    main()
