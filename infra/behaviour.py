"""Is the service's behaviour unchanged? The same inputs answered by two checkouts, compared.

    python -m infra.behaviour inputs --data-dir ../shared/data/mnist --out /tmp/inputs.pkl
    python -m infra.behaviour answers /tmp/inputs.pkl --repo OTHER_CHECKOUT --out /tmp/before.json
    python -m infra.behaviour answers /tmp/inputs.pkl --out /tmp/after.json
    python -m infra.behaviour compare /tmp/before.json /tmp/after.json

``inputs`` renders, once, every evaluation kind there is: each single-digit kind of
``training.data.realistic`` and each row kind of ``training.data.rows`` from MNIST *test* digits
(``--per-kind`` of each), and the hostile uploads of ``tests.reliability.corpus`` (named bad
files to all three upload routes, bad requests, header bombs, seeded mutations). ``answers``
starts a checkout's own local stack (``infra.local_stack``: its code, the HTTP API every version
keeps) and sends every input: digits to ``/api/predict``, rows to ``/api/predict/multi``,
hostile uploads as they are. It records what the contract promises: status, error code and
message, digit and confidence, number and boxes, each batch result. ``compare`` lists every
difference (ids and presigned URLs differ by design and are not recorded; confidences are
compared as the API shows them, to one decimal) and exits 1 if any.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
Request = tuple[str, str, str, bytes, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def render_inputs(data_dir: Path, per_kind: int, mutations: int) -> dict[str, Any]:
    """Every kind's uploads (label, bytes) and the hostile requests, seeded."""
    from tests.reliability import corpus
    from training.data import realistic
    from training.data import rows as row_kinds
    from training.data.mnist import load_from_dir

    mnist = load_from_dir(data_dir)
    images, labels = mnist.test.images, mnist.test.labels
    single = {
        kind: [(s.label, s.data) for s in realistic.mnist_samples(kind, images, labels, per_kind, seed=11)]
        for kind in realistic.KINDS
    }
    rows = {
        kind: [(r.number, r.data) for r in row_kinds.make_rows(images, labels, per_kind, (kind,), seed=5)]
        for kind in row_kinds.KINDS
    }
    label_pixels = next(pixels for label, pixels in corpus.mnist_sample_digits(10) if label == 3)
    seeds = corpus.seed_files(label_pixels)
    uploads = [u for f in corpus.hostile_files(seeds) for u in corpus.file_uploads(f, seeds["png-grey"])]
    uploads += corpus.request_uploads(seeds["png-grey"])
    for bomb in corpus.declared_bombs(seeds) + corpus.inflating_bombs(seeds):
        uploads += corpus.file_uploads(bomb, seeds["png-grey"], routes=(corpus.PREDICT, corpus.MULTI))
    uploads += list(corpus.mutated_uploads(seeds, mutations))
    hostile: list[Request] = [(u.name, u.method, u.path, u.body, u.headers, u.query) for u in uploads]
    return {"single": single, "rows": rows, "hostile": hostile}


def summary(response: httpx.Response) -> dict[str, Any]:
    """What the contract promises of an answer (not its ids or URLs)."""
    found: dict[str, Any] = {"status": response.status_code}
    try:
        body = response.json()
    except ValueError:
        return found
    if not isinstance(body, dict):
        return found
    if "error" in body:
        found.update(code=body["error"].get("code"), message=body["error"].get("message"))
    if "predicted_digit" in body:
        found.update(digit=body["predicted_digit"], confidence=body["confidence"])
    if "number" in body:
        found.update(number=body["number"], boxes=[d["box"] for d in body["digits"]])
        found["confidences"] = [d["confidence"] for d in body["digits"]]
    if "results" in body:
        found["results"] = [r.get("predicted_digit", r.get("error", {}).get("code")) for r in body["results"]]
    return found


def requests_of(inputs: dict[str, Any]) -> Iterator[tuple[str, Request]]:
    for kind, items in inputs["single"].items():
        for index, (_, data) in enumerate(items):
            yield f"single/{kind}", (f"{index}", "POST", "/api/predict", data, (("content-type", "image/png"),), ())
    for kind, items in inputs["rows"].items():
        for index, (_, data) in enumerate(items):
            yield f"rows/{kind}", (f"{index}", "POST", "/api/predict/multi", data, (("content-type", "image/png"),), ())
    for request in inputs["hostile"]:
        yield "hostile", request


def collect_answers(inputs: dict[str, Any], repo: Path) -> dict[str, list[dict[str, Any]]]:
    """Every input sent to ``repo``'s own local stack, one summary per request, grouped by kind."""
    from infra.local_stack import local_stack_process

    answers: dict[str, list[dict[str, Any]]] = {}
    with (
        local_stack_process(repo=repo, site_dir=repo / "site") as stack,
        httpx.Client(base_url=stack.url, timeout=120) as client,
    ):
        for group, (name, method, path, body, headers, query) in requests_of(inputs):
            response = client.request(method, path, content=body or None, headers=dict(headers), params=dict(query))
            answers.setdefault(group, []).append({"name": name, **summary(response)})
    return answers


def as_shown(percent: float) -> float:
    """A confidence as the API shows it since it rounds (one decimal, never 100.0 below
    certainty), so that answers from before that rule compare with answers after it."""
    value = round(percent, 1)
    return 99.9 if value >= 100.0 and percent < 100.0 else value


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    shown = dict(answer)
    if "confidence" in shown:
        shown["confidence"] = as_shown(shown["confidence"])
    if "confidences" in shown:
        shown["confidences"] = [as_shown(value) for value in shown["confidences"]]
    return shown


def differences(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> list[str]:
    found = []
    for group in sorted(set(before) | set(after)):
        old = [comparable(answer) for answer in before.get(group, [])]
        new = [comparable(answer) for answer in after.get(group, [])]
        if len(old) != len(new):
            found.append(f"{group}: {len(old)} answers before, {len(new)} after")
        found += [f"{group} {a['name']}: {a} -> {b}" for a, b in zip(old, new, strict=False) if a != b]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    make = verbs.add_parser("inputs", help="render the inputs once")
    make.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "mnist")
    make.add_argument("--per-kind", type=int, default=500)
    make.add_argument("--mutations", type=int, default=400)
    make.add_argument("--out", type=Path, required=True)
    send = verbs.add_parser("answers", help="a checkout's answers to the inputs")
    send.add_argument("inputs", type=Path)
    send.add_argument("--repo", type=Path, default=REPO_ROOT, help="the checkout to run (default: this one)")
    send.add_argument("--out", type=Path, required=True)
    compare = verbs.add_parser("compare", help="every difference between two sets of answers")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    args = parser.parse_args(argv)

    if args.verb == "inputs":
        args.out.write_bytes(pickle.dumps(render_inputs(args.data_dir, args.per_kind, args.mutations)))
        return 0
    if args.verb == "answers":
        inputs = pickle.loads(args.inputs.read_bytes())  # a file this command wrote
        args.out.write_text(json.dumps(collect_answers(inputs, args.repo.resolve())))
        return 0
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    found = differences(before, after)
    for group in sorted(after):
        print(f"{group}: {len(after[group])} answers")
    print(f"{len(found)} differences")
    for line in found[:50]:
        print("  " + line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
