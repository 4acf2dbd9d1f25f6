"""Choose when the scene judgement's P(photograph) refuses an upload as a photograph.

    python -m training.calibration.scene_rule --data-dir ../shared/data/mnist [--models-dir models]

Two thresholds (``recognizer.networks.scene.SceneRule``): above ``photograph_above`` an upload is
refused whatever it reads as (and a row as a whole); above ``photograph_likely_above`` it is
refused too when the digit network reads its digit with less than ``unless_read_surely``
confidence (a note photographed on a table reads surely; a landscape's bright bar, read as a
"1", mostly does not).

All three are chosen here, through the whole service, on validation uploads only:

- writing: every upload kind of ``training.data.realistic`` from the MNIST validation split and
  the validation fonts (seed of its own), and the scene set's writing (digits, blank pages,
  notes photographed in the world) from the same sources;
- photographs: the scene set's photographs, objects, graphics, screenshots and textures from
  the training packages' pictures (other crops than training's: a seed of its own).

Each upload is judged once with no scene refusal (the scene judgement's P, the digit network's
answer and confidence); every rule of the grid ``ABOVE`` x ``LIKELY`` x ``SURELY`` is then
applied to the judgements. The rule that refuses the most validation photographs while refusing
at most ``MAX_WRITING_REFUSED`` of the writing uploads the digit network accepts, and at most
``MAX_KIND_REFUSED`` of any single kind, wins; ties go to the higher thresholds, then the lower
``unless_read_surely`` (the less it refuses). ``train_scene``'s own threshold (chosen on the scene
set's writing alone, where low-resolution digits are few) is one more candidate for
``photograph_above``. The held-out packages are never looked at here (``evaluate_non_digits
--photographs`` reports them). Writes the rule into ``scene.json`` with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recognizer.errors import ClientError
from recognizer.networks import load_networks
from recognizer.networks.contract import DIGIT_TFLITE, SCENE_FILE, SCENE_TFLITE, THRESHOLD_FILE
from recognizer.networks.scene import NO_SCENE, Scene, SceneJudge, SceneRule
from recognizer.service import Recognizer
from recognizer.settings import REPO_MODELS, Settings
from training.data import realistic, scenes
from training.data.font_digits import VALIDATION_FONTS, installed
from training.data.mnist import load_mnist
from training.data.splits import default_split

REPO = Path(__file__).resolve().parents[2]
SEED = 4_242  # not train_scene's (11-13), calibrate's or the evaluation's
ABOVE = (0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995)
LIKELY = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
SURELY = (0.5, 0.7, 0.8, 0.9, 0.95)  # never more: a digit read 95% surely is answered
MAX_WRITING_REFUSED = 0.001
MAX_KIND_REFUSED = 0.005


@dataclass(frozen=True)
class Judged:
    """One validation upload as the service sees it."""

    kind: str
    photograph: bool  # what it is
    probability: float  # the scene judgement's P(photograph)
    accepted: bool  # answered as a digit by the digit network (no scene refusal)
    confidence: float  # the answer's confidence in [0, 1] (0: no digit found)


def writing_uploads(data_dir: str | None, per_kind: int, scene_count: int) -> Iterator[tuple[str, bytes]]:
    mnist = load_mnist(data_dir)
    _, (images, labels) = default_split(mnist.train.images, mnist.train.labels)
    fonts = installed(VALIDATION_FONTS)
    for kind in realistic.KINDS:
        for sample in realistic.mnist_samples(kind, images, labels, per_kind, seed=SEED):
            yield kind, sample.data
        for sample in realistic.font_samples(kind, per_kind // 4, fonts, seed=SEED) if fonts else ():
            yield kind, sample.data
    sources = scenes.WritingSources(images, labels, fonts)
    for kind, data in scenes.writing_uploads(sources, "training", scene_count, seed=SEED):
        yield f"scene:{kind}", data


def judged(recognizer: Recognizer, kind: str, photograph: bool, data: bytes) -> Judged:
    """``data`` through ``recognizer`` (one whose scene judgement refuses nothing)."""
    from recognizer.decoding import decode_for_recognition

    image = decode_for_recognition(data, recognizer.settings)
    probability = recognizer.networks.scene_of(image).probability
    try:
        answer = recognizer.predict_digit(data, store=False)
    except ClientError:
        return Judged(kind, photograph, probability, False, 0.0)
    return Judged(kind, photograph, probability, answer.is_digit, answer.confidence / 100.0)


def refused_by(rule: SceneRule, upload: Judged) -> bool:
    """Refused (as a photograph or otherwise) under ``rule``, as the service decides it."""
    return not upload.accepted or Scene(upload.probability, rule).refuses(upload.confidence)


def share_refused(rule: SceneRule, uploads: list[Judged]) -> float:
    return float(np.mean([refused_by(rule, u) for u in uploads]))


def choose(uploads: list[Judged], candidates: tuple[float, ...] = ABOVE) -> tuple[SceneRule, dict]:
    """The rule of ``candidates`` x ``LIKELY`` x ``SURELY`` refusing the most photographs within
    the writing's limits (the strictest threshold alone when none is within them), and its figures."""
    writing = [u for u in uploads if not u.photograph and u.accepted]
    by_kind: dict[str, list[Judged]] = defaultdict(list)
    for upload in writing:
        by_kind[upload.kind].append(upload)
    photographs = [u for u in uploads if u.photograph]

    def shares(rule: SceneRule) -> tuple[float, float, float]:
        """Refused under ``rule``: of the writing, of its worst kind, of the photographs."""
        worst = max(share_refused(rule, kind) for kind in by_kind.values())
        return share_refused(rule, writing), worst, share_refused(rule, photographs)

    best: tuple[tuple[float, float, float, float], SceneRule] | None = None
    for above in sorted(set(candidates)):
        for likely in sorted({min(likely, above) for likely in LIKELY}):
            for surely in SURELY:
                rule = SceneRule(above, likely, surely)
                refused_writing, worst_kind, refused_photographs = shares(rule)
                print(
                    f"above {above}, likely above {likely}, unless read {surely:.0%} surely: writing "
                    f"{refused_writing:.2%} (worst kind {worst_kind:.2%}), photographs {refused_photographs:.2%}"
                )
                if refused_writing > MAX_WRITING_REFUSED or worst_kind > MAX_KIND_REFUSED:
                    continue
                score = (refused_photographs, above, likely, -surely)
                if best is None or score > best[0]:
                    best = (score, rule)
    rule = SceneRule.alone(max(candidates)) if best is None else best[1]
    if rule.likely_above >= rule.photograph_above:  # nothing refused for being read unsurely
        rule = SceneRule.alone(rule.photograph_above)
    refused_writing, worst_kind, refused_photographs = shares(rule)
    figures = {
        "writing_accepted_by_the_digit_network": len(writing),
        "writing_refused": round(refused_writing, 4),
        "worst_kind_refused": round(worst_kind, 4),
        "photographs": len(photographs),
        "photographs_refused": round(refused_photographs, 4),
        "photographs_refused_by_the_threshold_alone": round(
            share_refused(SceneRule.alone(rule.photograph_above), photographs), 4
        ),
    }
    return rule, figures


def rule_text(rule: SceneRule) -> str:
    whatever = f"above {rule.photograph_above:.4f} whatever it reads as"
    if rule.unless_read_surely <= 0.0:
        return f"refused as a photograph {whatever}"
    return (
        f"refused as a photograph above P {rule.likely_above} when read with under "
        f"{rule.unless_read_surely:.0%} confidence, {whatever}"
    )


def models_key(models_dir: Path) -> str:
    """What the judged uploads depend on: the digit network, its thresholds, the scene judgement."""
    digest = hashlib.sha256()
    for name in (DIGIT_TFLITE, THRESHOLD_FILE, SCENE_TFLITE):
        digest.update((models_dir / name).read_bytes())
    return digest.hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models-dir", type=Path, default=REPO_MODELS)
    parser.add_argument("--per-kind", type=int, default=120, help="validation digit uploads of each upload kind")
    parser.add_argument("--scenes", type=int, default=1600, help="scene-set uploads of each side")
    parser.add_argument(
        "--work-dir", type=Path, default=REPO / "build" / "scene-rule", help="the judged uploads are kept here"
    )
    args = parser.parse_args(argv)

    rule_file = args.models_dir / SCENE_FILE
    saved = json.loads(rule_file.read_text())
    by_the_scene_set = float(saved.get("photograph_above_by_the_scene_set", saved["photograph_above"]))
    networks = load_networks(args.models_dir, row_reader=False)
    if networks.scene is None:
        raise SystemExit(f"no scene judgement in {args.models_dir}")
    # No scene refusal while the uploads are judged: the rule being chosen must not judge them.
    refusing_nothing = SceneJudge(networks.scene.model_path, NO_SCENE.rule)
    recognizer = Recognizer(Settings(), replace(networks, scene=refusing_nothing), store=None)
    cache = args.work_dir / f"judged-all-{args.per_kind}-{args.scenes}-{models_key(args.models_dir)}.json"
    if cache.is_file():  # judged before, with the same numbers and the same networks
        uploads = [Judged(**each) for each in json.loads(cache.read_text())]
    else:
        writing = writing_uploads(args.data_dir, args.per_kind, args.scenes)
        uploads = [judged(recognizer, kind, False, data) for kind, data in writing]
        print(f"{len(uploads)} writing uploads judged", flush=True)
        photographs = scenes.photograph_uploads("training", args.scenes, seed=SEED)
        uploads += [judged(recognizer, kind, True, data) for kind, data in photographs]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps([asdict(each) for each in uploads]))
    rule, figures = choose(uploads, (*ABOVE, by_the_scene_set))
    saved.update(
        photograph_above=rule.photograph_above,
        photograph_above_by_the_scene_set=by_the_scene_set,
        photograph_likely_above=rule.likely_above,
        unless_read_surely=rule.unless_read_surely,
        scene_rule={
            "command": "python -m training.calibration.scene_rule "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "chosen_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rule": rule_text(rule),
            "how": f"of {len(ABOVE) + 1} x {len(LIKELY)} x {len(SURELY)} rules, the one refusing the most "
            f"validation photographs with at most {MAX_WRITING_REFUSED:.1%} of the validation writing the digit "
            f"network accepts refused (and {MAX_KIND_REFUSED:.1%} of any kind)",
            "validation": figures,
        },
    )
    rule_file.write_text(json.dumps(saved, indent=2) + "\n")
    print(json.dumps(saved["scene_rule"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
