"""Golden regression: the accuracy table over ``samples/`` is committed; counting may not get worse.

``tests/golden/accuracy.json`` holds what ``formcheck evaluate samples/`` measured when it
was last accepted.  This test evaluates the same labelled clips again and fails if the
exact-count accuracy (or hold accuracy, people-count accuracy, detection rate) drops below
the committed figures, naming the clips that regressed.

After a deliberate change (better counting, new labelled samples) rewrite the table with
``pytest tests/test_accuracy_golden.py --regen-golden`` and commit it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from exercises.evaluate import evaluate, load_all_labels

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GOLDEN = Path(__file__).with_name("golden") / "accuracy.json"
#: metric -> allowed drop (detection may move a little with the CPU's float kernels)
METRICS = {"exact_count_accuracy": 0.0, "hold_accuracy": 0.0, "people_count_accuracy": 0.0, "detection_rate": 0.02}
KEEP = ("labels", "file", "exercise", "status", "expected", "counted", "exact", "hold_ok", "people_seen",
        "detection_rate", "note")


def _key(labels: str, file: str, exercise: str | None) -> tuple[str, str, str]:
    return labels, file, exercise or ""


def _rel(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


def _run(keys: set[tuple[str, str, str]] | None) -> dict:
    items, files = load_all_labels(SAMPLES, None)
    if keys is not None:
        items = [i for i in items if _key(_rel(i.labels_file), i.file, i.exercise) in keys]
    result = evaluate(SAMPLES, loaded=(items, files), command="formcheck evaluate samples/")
    for item, row in zip(items, result["clips"], strict=True):
        row["labels"] = _rel(item.labels_file)
    return result


def test_counting_accuracy_on_the_samples_does_not_drop(regen_golden: bool) -> None:
    if regen_golden:
        result = _run(None)
        GOLDEN.write_text(json.dumps({
            "command": "formcheck evaluate samples/",
            "aggregates": {k: v for k, v in result["aggregates"]["all"].items() if k != "wall_s"},
            "clips": [{k: r.get(k) for k in KEEP} for r in result["clips"]],
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {GOLDEN}")
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; create it with --regen-golden"
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    keys = {_key(c["labels"], c["file"], c["exercise"]) for c in golden["clips"]}
    items, _ = load_all_labels(SAMPLES, None)
    present = {_key(_rel(i.labels_file), i.file, i.exercise): i for i in items}
    gone = sorted(keys - set(present))
    assert not gone, f"labelled samples in {GOLDEN.name} no longer in samples/: {gone}; regenerate the golden table"
    new = sorted(set(present) - keys)
    if new:
        warnings.warn(f"{len(new)} labelled samples are not in {GOLDEN.name} yet (e.g. {new[0]}); run "
                      "pytest tests/test_accuracy_golden.py --regen-golden and commit it", stacklevel=1)
    for c in golden["clips"]:
        exp = present[_key(c["labels"], c["file"], c["exercise"])].expected
        assert list(exp) == c["expected"], f"the label of {c['file']} changed; regenerate the golden table"

    result = _run(keys)
    now = result["aggregates"]["all"]
    by_key = {_key(r["labels"], r["file"], r["exercise"]): r for r in result["clips"]}
    worse = []
    for c in golden["clips"]:
        r = by_key[_key(c["labels"], c["file"], c["exercise"])]
        if (c["exact"] and not r["exact"]) or (c["hold_ok"] and not r["hold_ok"]):
            worse.append(f"{c['labels']}:{c['file']} expected {c['expected']}, counted {r['counted']} "
                         f"(was {c['counted']}) {r['note']}".rstrip())
    for metric, slack in METRICS.items():
        was = golden["aggregates"].get(metric)
        if was is None:
            continue
        assert now[metric] is not None and now[metric] >= was - slack, (
            f"{metric} dropped from {was} to {now[metric]}; clips now wrong: {worse or 'none (detection only)'}")
