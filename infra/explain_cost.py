"""What ``?explain=true`` costs: CPU per ``POST /api/predict``, with and without it.

- server: the local stack in a child process (uvicorn and the app in one process, moto's S3
  server in another, so S3's own work is not counted); requests alternate between the two kinds
  in blocks, so that whatever else the machine does falls on both alike. The server's CPU (user
  + system, from /proc, in 10 ms ticks) over each kind's requests, divided by their number.
- in_process: the same app in this process (FastAPI's TestClient, S3 on moto's server in a
  child process), each request's own CPU time (all of this process's threads: the client's
  side too, the same for both kinds), the two kinds alternating; the quartiles of each kind,
  and the difference of their medians and of their lower quartiles. On a machine busy with
  other work CPU times swell (shared caches and cores): the lower quartile is the least touched.
- evidence_map_alone: the map's pieces and its one forward pass (``OCCLUSION.pieces`` hidden
  copies of one input), CPU per call, beside one forward pass of one input measured alike (a
  ratio that the machine's other work hardly changes).

    .venv/bin/python -m infra.explain_cost             # JSON on stdout
    .venv/bin/python -m infra.explain_cost --requests 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from infra.bench import digit_upload, multipart, process_cpu_seconds

WARM_UP = 20


def measure_server(base_url: str, server_pid: int, uploads: list[bytes], requests: int, block: int) -> dict:
    """CPU ms per request and wall-clock ms of each kind (``explain`` off and on), alternating."""
    import httpx

    bodies = [multipart(data) for data in uploads]
    cpu = {False: 0.0, True: 0.0}
    wall: dict[bool, list[float]] = {False: [], True: []}
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def post(index: int, explain: bool) -> float:
            body, content_type = bodies[index % len(bodies)]
            began = time.perf_counter()
            response = client.post(
                "/api/predict",
                params={"explain": "true"} if explain else None,
                content=body,
                headers={"content-type": content_type},
            )
            elapsed = (time.perf_counter() - began) * 1000.0
            if response.status_code != 200 or ("explanation" in response.json()) != explain:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
            return elapsed

        for index in range(WARM_UP):
            post(index, index % 2 == 1)
        done = 0
        while done < requests:
            for explain in (False, True) if (done // block) % 2 == 0 else (True, False):
                before = process_cpu_seconds(server_pid)
                wall[explain] += [post(done + index, explain) for index in range(block)]
                after = process_cpu_seconds(server_pid)
                if before is None or after is None:
                    raise RuntimeError("the server's CPU time is read from /proc (Linux only)")
                cpu[explain] += after - before
            done += block
    figures = {}
    for explain, name in ((False, "without_explain"), (True, "with_explain")):
        figures[name] = {
            "server_cpu_ms_per_request": round(cpu[explain] * 1000.0 / len(wall[explain]), 2),
            "p50_ms": round(statistics.median(wall[explain]), 2),
            "requests": len(wall[explain]),
        }
    figures["added_server_cpu_ms_per_request"] = round(
        figures["with_explain"]["server_cpu_ms_per_request"] - figures["without_explain"]["server_cpu_ms_per_request"],
        2,
    )
    return figures


def quartiles(values: list[float]) -> dict[str, float]:
    low, median, high = statistics.quantiles(values, n=4)
    return {"p25_ms": round(low, 2), "p50_ms": round(median, 2), "p75_ms": round(high, 2)}


def measure_in_process(uploads: list[bytes], requests: int) -> dict:
    """Each request's CPU in this process, ``explain`` off and on alternately."""
    from fastapi.testclient import TestClient

    from infra.local_stack import FAKE_CREDENTIALS, MotoS3Process
    from recognizer.api import create_app
    from recognizer.service import Recognizer
    from recognizer.settings import Settings
    from recognizer.storage import Credentials, open_store

    moto = MotoS3Process()
    try:
        settings = Settings(maps_bucket="explain-cost", s3_endpoint_url=moto.endpoint)
        store = open_store(
            settings, Credentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        )
        store.client.create_bucket(Bucket=settings.maps_bucket)
        cpu: dict[bool, list[float]] = {False: [], True: []}
        with TestClient(create_app(Recognizer.from_settings(settings, store))) as client:
            for index in range(WARM_UP + requests):
                for explain in (False, True) if index % 2 == 0 else (True, False):
                    began = time.process_time()
                    response = client.post(
                        "/api/predict",
                        params={"explain": "true"} if explain else None,
                        files={"image": ("digit.png", uploads[index % len(uploads)], "image/png")},
                    )
                    spent = (time.process_time() - began) * 1000.0
                    if response.status_code != 200:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                    if index >= WARM_UP:
                        cpu[explain].append(spent)
        store.close()
    finally:
        moto.stop()
    without, with_explain = quartiles(cpu[False]), quartiles(cpu[True])
    return {
        "without_explain_cpu": without,
        "with_explain_cpu": with_explain,
        "added_cpu_ms_p50": round(with_explain["p50_ms"] - without["p50_ms"], 2),
        "added_cpu_ms_p25": round(with_explain["p25_ms"] - without["p25_ms"], 2),
        "requests": requests,
    }


def measure_forward_pass(calls: int) -> dict:
    """The evidence map alone, in this process: CPU ms per ``occlusion_evidence`` of one input
    (its pieces, one forward pass of the hidden copies, the values)."""
    import numpy as np
    from PIL import Image

    from recognizer.explain import OCCLUSION, occlusion_evidence
    from recognizer.networks import load_networks
    from recognizer.settings import REPO_MODELS
    from recognizer.vision.readings import model_inputs

    networks = load_networks(REPO_MODELS)
    import io

    model_input = model_inputs(Image.open(io.BytesIO(digit_upload(7))))[0]
    activations = networks.digit.run(model_input[None])
    digit = int(np.argmax(activations.probs[0]))
    spent = {"map": 0.0, "one_input": 0.0}
    for index in range(10 + calls):
        for what in ("map", "one_input") if index % 2 == 0 else ("one_input", "map"):
            began = time.process_time()
            if what == "map":
                occlusion_evidence([model_input], [digit], activations.probs, networks.digit.run)
            else:
                networks.digit.run(model_input[None])
            if index >= 10:
                spent[what] += time.process_time() - began
    return {
        "pieces": OCCLUSION.pieces,
        "cpu_ms_per_map": round(spent["map"] * 1000.0 / calls, 2),
        "cpu_ms_per_forward_pass_of_one_input": round(spent["one_input"] * 1000.0 / calls, 2),
        "calls": calls,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="CPU cost of ?explain=true; prints JSON.")
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument("--block", type=int, default=20, help="requests of one kind in a row")
    args = parser.parse_args(argv)

    from infra.local_stack import local_stack_process

    uploads = [digit_upload(digit) for digit in range(10)]
    report: dict[str, object] = {}
    with local_stack_process() as stack:
        report["server"] = measure_server(stack.url, stack.info.pid, uploads, args.requests, args.block)
    report["in_process"] = measure_in_process(uploads, args.requests)
    report["evidence_map_alone"] = measure_forward_pass(200)
    report["machine"] = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
