"""Fixtures of the reliability suite: its size, its figures, valid seed files and a local stack
of its own (its server's pid is needed for memory figures).

Every test that talks to the stack is in the xdist group ``reliability-stack``, so under
``pytest -n 2 --dist loadgroup`` one worker starts one stack for all of them. (With pytest 9,
pytest-xdist 3.8's loadgroup no longer groups: it renames items by a field pytest no longer
reads. ``make test`` uses ``--dist loadscope``: a module's tests on one worker, so a module's
fixtures are made once.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.corpus import mnist_sample_digits, seed_files
from tests.reliability.scale import REPORT_DIR_ENV, Scale, current_scale

STACK_GROUP = "reliability-stack"


@pytest.fixture(scope="session")
def scale() -> Scale:
    return current_scale()


@pytest.fixture(scope="session")
def figures() -> Iterator[dict]:
    """Figures the tests measured, by section; written for infra.reliability when it runs us."""
    collected: dict = {}
    yield collected
    folder = os.environ.get(REPORT_DIR_ENV)
    if folder and collected:
        path = Path(folder) / f"figures-{os.getpid()}.json"
        path.write_text(json.dumps(collected, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def seeds() -> dict[str, bytes]:
    """A 3 in every format and colour mode the service reads."""
    label, pixels = next((label, pixels) for label, pixels in mnist_sample_digits(10) if label == 3)
    return seed_files(pixels)


@pytest.fixture(scope="session")
def reliability_stack():
    """The local stack (moto S3 + API + site) in a child process of its own."""
    from infra.local_stack import local_stack_process

    with local_stack_process() as stack:
        yield stack


@pytest.fixture
def stack_client(reliability_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reliability_stack.url, timeout=120.0) as client:
        yield client
