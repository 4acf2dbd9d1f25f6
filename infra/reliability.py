"""``make reliability``: the reliability suite (tests/reliability) at full size, and its summary.

Runs every test there with ``RELIABILITY_FULL=1`` (over 5,000 hostile uploads on all three
upload routes, hypothesis and schemathesis at full size, 16 clients for 2,400 requests, every
storage fault), collects the figures the tests measured and prints a summary: cases tried, 5xx
count, slowest rejection, peak server memory, load held, cross-talk, storage faults survived.
The same summary is written as JSON to ``.bench/reliability.json``. Exits non-zero when a test
fails or a target of issue 7 is missed.

    python -m infra.reliability            # about 10 minutes on 2 cores
    python -m infra.reliability -k load    # one part only (pytest's -k), still at full size
    python -m infra.reliability --bounded  # the sizes make test uses, for a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / ".bench" / "reliability.json"
SUITE = "tests/reliability"

# Issue 7's targets.
MIN_HOSTILE_CASES = 5_000
REJECTION_LIMIT_MS = 200.0
MEMORY_LIMIT_MB = 300.0
MIN_LOAD_CLIENTS, MIN_LOAD_REQUESTS = 16, 2_000


def run_suite(report_dir: Path, selection: str | None, full: bool = True) -> int:
    """pytest on the suite, in one process (clean timings); its exit status."""
    env = {**os.environ, "RELIABILITY_FULL": "1" if full else "0", "RELIABILITY_REPORT_DIR": str(report_dir)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        SUITE,
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-W",
        "ignore::UserWarning",
        "--durations=8",
    ]
    if selection:
        command += ["-k", selection]
    return subprocess.run(command, cwd=REPO_ROOT, env=env).returncode


def merged_figures(report_dir: Path) -> dict:
    figures: dict = {}
    for path in sorted(report_dir.glob("figures-*.json")):
        for section, values in json.loads(path.read_text()).items():
            if isinstance(values, dict) and isinstance(figures.get(section), dict):
                figures[section].update(values)
            else:
                figures[section] = values
    return figures


def milliseconds_in(case: str) -> float:
    """The time at the end of a case's description, "... (code, 1234 ms)"."""
    return float(case.rsplit(", ", 1)[-1].split(" ms")[0])


def summarise(figures: dict, tests_passed: bool) -> dict:
    """The figures issue 7 asks for, and whether each target was met."""
    hostile = figures.get("hostile", {})
    bombs = figures.get("bombs", {})
    declared = figures.get("declared_bombs", {})
    schema = figures.get("schemathesis", {})
    load = figures.get("load", {})
    faults = figures.get("storage_faults", {})
    properties = figures.get("properties", {})
    http_cases = hostile.get("cases", 0) + bombs.get("cases", 0) + declared.get("cases", 0)
    server_errors = hostile.get("server_errors", 0) + bombs.get("server_errors", 0) + schema.get("server_errors", 0)
    dropped = hostile.get("no_answer", 0)
    survived = sum(1 for result in faults.values() if result.get("survived"))
    slowest = max((hostile, bombs), key=lambda part: part.get("slowest_rejection_ms") or 0.0)
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
        "cases_tried": {
            "hostile_http_uploads": http_cases,
            "property_examples": sum(properties.values()),
            "schemathesis_cases": schema.get("cases", 0),
            "total": http_cases + sum(properties.values()) + schema.get("cases", 0),
        },
        "server_errors_5xx": server_errors,
        "dropped_connections": dropped,
        "answers_not_in_the_error_shape_or_unexpected": hostile.get("problems", 0) + bombs.get("problems", 0),
        "answers_by_status": hostile.get("by_status", {}),
        "slowest_rejection_ms": slowest["slowest_rejection_ms"],
        "slowest_rejection_case": slowest["slowest_rejection_case"],
        "slowest_rejection_before_decoding_ms": max(
            hostile.get("slowest_rejection_before_decoding_ms", 0.0),
            bombs.get("slowest_rejection_before_decoding_ms", 0.0),
        ),
        "slowest_rejection_of_the_other_uploads_ms": hostile.get("slowest_rejection_ms"),
        "rejection_p95_ms": hostile.get("rejection_p95_ms"),
        "rejections_over_200_ms": sorted(
            bombs.get("rejections_over_200_ms", []) + hostile.get("rejections_over_200_ms", []),
            key=milliseconds_in,
            reverse=True,
        ),
        "peak_server_memory_mb": {
            "under_bombs": bombs.get("peak_mb"),
            "by_route": bombs.get("peak_mb_by_route", {}),
            "declared_bombs_largest_growth": declared.get("largest_growth_mb"),
            "after_all_hostile_uploads": hostile.get("server_peak_memory_mb"),
            "after_load": load.get("server_peak_memory_mb"),
        },
        "load": {
            key: load.get(key)
            for key in (
                "clients",
                "requests",
                "errors",
                "requests_per_second",
                "p50_ms",
                "p95_ms",
                "max_ms",
                "seconds",
                "by_route",
            )
        },
        "cross_talk": load.get("cross_talk"),
        "stored_inputs_compared": load.get("stored_inputs_checked"),
        "storage_faults": {"survived": survived, "cases": len(faults), "each": faults},
        "schemathesis": schema,
        "property_examples": properties,
        "tests_passed": tests_passed,
    }
    summary["targets"] = targets(summary, hostile)
    return summary


def targets(summary: dict, hostile: dict) -> dict[str, bool]:
    memory = summary["peak_server_memory_mb"]["under_bombs"]
    load = summary["load"]
    over_limit = summary["rejections_over_200_ms"]
    return {
        f"at least {MIN_HOSTILE_CASES:,} hostile cases": summary["cases_tried"]["hostile_http_uploads"]
        >= MIN_HOSTILE_CASES,
        "zero 5xx and zero dropped connections": summary["server_errors_5xx"] == 0
        and summary["dropped_connections"] == 0,
        "every rejection a 4xx in the error shape": summary["answers_not_in_the_error_shape_or_unexpected"] == 0
        and bool(hostile),
        f"every rejection within {REJECTION_LIMIT_MS:.0f} ms": bool(hostile) and not over_limit,
        f"peak server memory under the bombs < {MEMORY_LIMIT_MB:.0f} MB": memory is not None
        and memory < MEMORY_LIMIT_MB,
        f"load: {MIN_LOAD_CLIENTS} clients, >= {MIN_LOAD_REQUESTS:,} requests, zero errors": (load["clients"] or 0)
        >= MIN_LOAD_CLIENTS
        and (load["requests"] or 0) >= MIN_LOAD_REQUESTS
        and load["errors"] == 0,
        "zero cross-talk": summary["cross_talk"] == 0,
        "every storage fault answered": summary["storage_faults"]["cases"] > 0
        and summary["storage_faults"]["survived"] == summary["storage_faults"]["cases"],
    }


def _count(value: int | None) -> str:
    """A count with thousands separators; "not run" for a part that was not selected."""
    return "not run" if value is None else f"{value:,}"


def printable(summary: dict) -> str:
    cases, load, memory = summary["cases_tried"], summary["load"], summary["peak_server_memory_mb"]
    faults = summary["storage_faults"]
    slow = summary["rejections_over_200_ms"]
    lines = [
        "Reliability (make reliability)",
        f"  machine                 {summary['machine']}",
        f"  cases tried             {cases['total']:,}: {cases['hostile_http_uploads']:,} hostile HTTP uploads, "
        f"{cases['property_examples']:,} hypothesis examples, {cases['schemathesis_cases']:,} schemathesis cases",
        f"  5xx answers             {summary['server_errors_5xx']} (dropped connections: {summary['dropped_connections']}; "
        f"answers off the error shape or unexpected: {summary['answers_not_in_the_error_shape_or_unexpected']})",
        f"  slowest rejection       {summary['slowest_rejection_ms']} ms: {summary['slowest_rejection_case']}",
        f"                          other than the bombs within the pixel limits {summary['slowest_rejection_of_the_other_uploads_ms']} ms; "
        f"refused before decoding: at most {summary['slowest_rejection_before_decoding_ms']} ms; "
        f"p95 {summary['rejection_p95_ms']} ms; over 200 ms: {len(slow)}",
        f"  peak server memory      {memory['under_bombs']} MB under the bombs ("
        + ", ".join(f"{route.rsplit('/', 1)[-1]} {mb}" for route, mb in memory["by_route"].items())
        + f"); declared bombs grew it {memory['declared_bombs_largest_growth']} MB at most",
        f"  load held               {load['clients']} clients, {_count(load['requests'])} requests in {load['seconds']} s: "
        f"{load['requests_per_second']} req/s, p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, {load['errors']} errors",
        f"  cross-talk              {summary['cross_talk']} (answers checked: digits of {_count(load['requests'])} requests, "
        f"{_count(summary['stored_inputs_compared'])} stored inputs fetched and compared)",
        f"  storage faults survived {faults['survived']}/{faults['cases']}",
    ]
    for name, result in faults["each"].items():
        lines.append(
            f"    - {name}: {result.get('status')} in {result.get('seconds')} s, "
            f"left in bucket {result.get('left_in_bucket')}"
        )
    lines.append("  targets")
    lines += [f"    [{'x' if met else ' '}] {name}" for name, met in summary["targets"].items()]
    if slow:
        lines.append(f"  rejections over {REJECTION_LIMIT_MS:.0f} ms ({len(slow)}), slowest first:")
        lines += [f"    - {case}" for case in slow[:6]]
        if len(slow) > 6:
            lines.append(f"    - and {len(slow) - 6} more (.bench/reliability.json)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="selection", help="only the tests pytest -k selects")
    parser.add_argument("--bounded", action="store_true", help="the make test sizes (a quick look)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reliability-") as scratch:
        status = run_suite(Path(scratch), args.selection, full=not args.bounded)
        figures = merged_figures(Path(scratch))
    summary = summarise(figures, tests_passed=status == 0)
    summary["run_seconds"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"summary": summary, "figures": figures}, indent=2, sort_keys=False) + "\n")
    print()
    print(printable(summary))
    print(
        f"  written to {args.output.relative_to(REPO_ROOT) if args.output.is_relative_to(REPO_ROOT) else args.output}"
        f" ({summary['run_seconds']} s)"
    )
    return 0 if status == 0 and all(summary["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
