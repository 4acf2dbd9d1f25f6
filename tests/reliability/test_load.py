"""Sixteen clients at once against the local stack, each sending its own digits: no errors,
and no answer (digit or stored input) that belongs to another request.

``make test`` sends a few hundred requests; ``make reliability`` over two thousand.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import STACK_GROUP
from tests.reliability.harness import peak_memory_mb
from tests.reliability.load import offline_recognizer, readable_digits, run_load

pytestmark = pytest.mark.xdist_group(STACK_GROUP)


def test_concurrent_clients_each_get_their_own_answers(reliability_stack, scale, figures):
    recognizer = offline_recognizer()
    digits = readable_digits(60, recognizer)
    load = run_load(
        reliability_stack.url,
        digits,
        recognizer,
        clients=scale.load_clients,
        requests=scale.load_requests,
        time_limit_s=scale.load_time_limit_s,
    )
    figures["load"] = {**load.as_dict(), "server_peak_memory_mb": peak_memory_mb(reliability_stack.info.pid)}
    assert load.requests == scale.load_requests, f"only {load.requests} requests within {scale.load_time_limit_s} s"
    assert load.errors == 0, load.examples
    assert load.stored_inputs_checked >= load.requests * 0.8
    assert load.unreadable_inputs == 0, load.examples
    assert load.cross_talk == 0, load.examples
