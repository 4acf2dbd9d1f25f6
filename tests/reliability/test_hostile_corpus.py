"""Hostile uploads against the running local stack: every answer a 200 or a 4xx in the API's
error shape, never a 5xx, never a dropped connection; bombs refused from their header, or read
in bounded memory.

``make test`` sends the named cases to /api/predict and a few hundred mutations over the three
upload routes; ``make reliability`` sends every named case to every route and 4,800 mutations.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import STACK_GROUP
from tests.reliability.corpus import (
    BATCH,
    MULTI,
    PREDICT,
    declared_bombs,
    file_uploads,
    hostile_files,
    inflating_bombs,
    mutated_uploads,
    request_uploads,
)
from tests.reliability.harness import (
    peak_memory_mb,
    reset_peak_memory,
    resident_memory_mb,
    send,
    summarise,
)

pytestmark = pytest.mark.xdist_group(STACK_GROUP)

SERVER_MEMORY_LIMIT_MB = 300.0  # the bound for the server under the bombs
ALLOCATION_SLACK_MB = 10.0  # a refused header may cost a parser buffer, never the image


def warm_up(stack_client, seeds) -> None:
    """Model, S3 client and row reader loaded: the baseline a warm server has."""
    for path in (PREDICT, MULTI):
        answer = stack_client.post(path, files={"image": ("digit.png", seeds["png-grey"], "image/png")})
        assert answer.status_code == 200, answer.text


def test_declared_bombs_are_refused_from_the_header_without_allocating(reliability_stack, stack_client, seeds, figures):
    warm_up(stack_client, seeds)
    pid = reliability_stack.info.pid
    growth = {}
    for file in declared_bombs(seeds):
        for upload in file_uploads(file, seeds["png-grey"], routes=(PREDICT, MULTI)):
            reset_peak_memory(pid)
            before = resident_memory_mb(pid)
            answer = send(stack_client, upload)
            assert not answer.problems, (answer.name, answer.status, answer.problems)
            growth[upload.name] = round(peak_memory_mb(pid) - before, 1)
    figures["declared_bombs"] = {"cases": len(growth), "largest_growth_mb": max(growth.values()), "growth_mb": growth}
    assert max(growth.values()) < ALLOCATION_SLACK_MB, growth


def test_bombs_within_the_pixel_limit_are_read_in_bounded_memory(
    reliability_stack, stack_client, seeds, scale, figures
):
    warm_up(stack_client, seeds)
    pid = reliability_stack.info.pid
    baseline = resident_memory_mb(pid)
    bombs = inflating_bombs(seeds)
    peaks: dict[str, float] = {}
    answers = []
    for route in (PREDICT, BATCH, MULTI):
        reset_peak_memory(pid)
        for file in bombs if scale.full or route == PREDICT else bombs[:2]:
            answers += [send(stack_client, upload) for upload in file_uploads(file, seeds["png-grey"], routes=(route,))]
        peaks[route] = peak_memory_mb(pid)
    summary = summarise(answers)
    figures["bombs"] = {
        **summary.as_dict(),
        "baseline_mb": baseline,
        "peak_mb_by_route": peaks,
        "peak_mb": max(peaks.values()),
    }
    assert summary.problems == 0, summary.examples_of_problems
    assert max(peaks.values()) < SERVER_MEMORY_LIMIT_MB, peaks


def test_hostile_uploads_get_a_4xx_in_the_error_shape_never_a_5xx(
    reliability_stack, stack_client, seeds, scale, figures
):
    good = seeds["png-grey"]
    routes = (PREDICT, MULTI, BATCH) if scale.full else (PREDICT,)
    uploads = [upload for file in hostile_files(seeds) for upload in file_uploads(file, good, routes)]
    uploads += request_uploads(good)
    uploads += list(mutated_uploads(seeds, scale.mutated_uploads))
    answers = [send(stack_client, upload) for upload in uploads]
    summary = summarise(answers)
    figures["hostile"] = summary.as_dict()
    figures["hostile"]["server_peak_memory_mb"] = peak_memory_mb(reliability_stack.info.pid)
    assert reliability_stack.process.poll() is None, "the server died"
    assert stack_client.get("/api/health").status_code == 200
    assert summary.server_errors == 0 and summary.no_answer == 0, summary.examples_of_problems
    assert summary.problems == 0, "\n".join(summary.examples_of_problems)
