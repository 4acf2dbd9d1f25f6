"""The scene rule is chosen from judgements made with no scene refusal: the threshold as well as
the pair for uploads read unsurely."""

from __future__ import annotations

from training.calibration.scene_rule import MAX_KIND_REFUSED, Judged, choose, rule_text


def writing(kind: str, probabilities: list[float], confidence: float = 0.99) -> list[Judged]:
    return [Judged(kind, False, p, True, confidence) for p in probabilities]


def photographs(probabilities: list[float], confidence: float = 0.5) -> list[Judged]:
    return [Judged("photo", True, p, True, confidence) for p in probabilities]


def test_the_lowest_threshold_no_writing_kind_crosses_is_chosen() -> None:
    # 1,000 writing uploads of each kind: the highest low-resolution one at P 0.985.
    uploads = writing("clean", [0.01] * 1000) + writing("low_resolution", [0.2] * 999 + [0.985])
    uploads += photographs([0.93, 0.97, 0.991, 0.996, 0.9999], confidence=0.99)  # read surely: the threshold decides
    rule, figures = choose(uploads, (0.9, 0.95, 0.98, 0.99, 0.995))
    # 0.9 refuses 1 of the 1,000 low-resolution uploads (0.1%, within a kind's 0.5% and the 0.05%
    # overall within 0.1%) and every photograph.
    assert rule.photograph_above == 0.9
    assert figures["photographs_refused"] == 1.0
    assert figures["writing_refused"] == 0.0005
    assert figures["worst_kind_refused"] == 0.001


def test_a_kind_refused_beyond_its_limit_rules_a_threshold_out() -> None:
    few = int(1 / MAX_KIND_REFUSED)  # one upload of fewer than this many is beyond the limit
    uploads = writing("clean", [0.01] * 10_000) + writing("low_resolution", [0.2] * (few - 3) + [0.93, 0.985])
    uploads += photographs([0.96, 0.97, 0.991, 0.9999], confidence=0.99)  # read surely: only the threshold refuses
    rule, figures = choose(uploads, (0.9, 0.95, 0.98, 0.99))
    assert rule.photograph_above == 0.99  # 0.98 and lower refuse 1 (or 2) of the kind's few
    assert figures["photographs_refused"] == 0.5
    assert figures["writing_refused"] == 0.0


def test_writing_the_digit_network_refuses_anyway_does_not_count() -> None:
    uploads = writing("clean", [0.01] * 1000) + [Judged("clean", False, 0.97, False, 0.0)]
    uploads += photographs([0.96, 0.99], confidence=0.99)
    rule, _ = choose(uploads, (0.95, 0.99))
    assert rule.photograph_above == 0.95


def test_with_no_rule_within_the_limits_the_strictest_threshold_alone() -> None:
    uploads = writing("clean", [0.9999] * 10) + photographs([0.9999])
    rule, _ = choose(uploads, (0.9, 0.99))
    assert (rule.photograph_above, rule.likely_above, rule.unless_read_surely) == (0.99, 0.99, 0.0)


def test_a_rule_that_refuses_nothing_more_for_reading_unsurely_is_the_threshold_alone() -> None:
    uploads = writing("clean", [0.01] * 1000) + photographs([0.96, 0.995], confidence=0.99)
    rule, _ = choose(uploads, (0.95,))
    assert (rule.photograph_above, rule.likely_above, rule.unless_read_surely) == (0.95, 0.95, 0.0)
    assert rule_text(rule) == "refused as a photograph above 0.9500 whatever it reads as"
