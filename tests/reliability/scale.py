"""How big a reliability run is: bounded under ``make test``, full under ``make reliability``.

``RELIABILITY_FULL=1`` selects the full size; ``RELIABILITY_REPORT_DIR`` names a folder where the
tests leave their figures as JSON for ``infra.reliability`` to sum up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FULL_ENV = "RELIABILITY_FULL"
REPORT_DIR_ENV = "RELIABILITY_REPORT_DIR"


@dataclass(frozen=True)
class Scale:
    full: bool
    mutated_uploads: int  # seeded mutations of valid images, on top of the named hostile cases
    load_clients: int
    load_requests: int
    load_time_limit_s: float  # the load stops here even if requests remain
    property_examples: int  # per hypothesis property
    schemathesis_examples: int  # per API operation and phase


BOUNDED = Scale(
    full=False,
    mutated_uploads=200,
    load_clients=16,
    load_requests=320,
    load_time_limit_s=60.0,
    property_examples=60,
    schemathesis_examples=15,
)
FULL = Scale(
    full=True,
    mutated_uploads=4_800,
    load_clients=16,
    load_requests=2_400,
    load_time_limit_s=400.0,
    property_examples=800,
    schemathesis_examples=150,
)


def current_scale() -> Scale:
    return FULL if os.environ.get(FULL_ENV, "").strip() in ("1", "true", "yes") else BOUNDED
