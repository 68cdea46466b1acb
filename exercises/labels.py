"""Ground-truth labels for evaluation clips: the ``labels.csv`` format (see docs/evaluation.md).

One CSV row per clip; the header names the columns, in any order, case-insensitive.
Columns other than those below (``start_state``, ``form_notes``, ``confidence``,
``source``, ...) are ignored, so annotators may keep their notes beside the labels.

============  ========  ===============================================================
column        required  meaning
============  ========  ===============================================================
``file``      yes       clip path, relative to the labels file's folder (or to DIR)
``exercise``  yes       exercise id (``formcheck exercises``); empty = detection only
``reps``      reps      complete repetitions per person; ``3`` or per person ``3|2``
``hold_s``    holds     seconds the pose is held correctly; ``12.5`` or ``12.5|10``
``people``    no        people doing the exercise (detection-only rows: people in view
                        at the busiest moment); default 1
``view``      no        camera view: front, side, oblique, back (informational)
``faults``    no        faults per rep: ``rep1:knee_valgus|rep3:too_shallow``; a bare
                        code means every rep; ``hold:hips_sagging`` for holds; empty =
                        no faults; ``?`` = not known.  Without the column no fault is known.
============  ========  ===============================================================

Problems with a single row never abort the whole file: the row is returned with
:attr:`ClipLabel.problem` set (one line naming file, row and problem) so it can be
shown in the results table.  A file that cannot be read at all raises
:class:`LabelsError`.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LABELS_NAME = "labels.csv"
REQUIRED_COLUMNS = ("file", "exercise")
KNOWN_COLUMNS = ("file", "exercise", "reps", "hold_s", "people", "view", "faults")
VIEWS = ("front", "side", "oblique", "back", "rear", "any")
#: Fault codes shared by the engine and the synthetic renderer (docs/architecture.md).
FAULT_CODES = ("stoop_lift", "rounded_back", "knee_valgus", "hips_sagging", "hips_piking", "twisting",
               "too_shallow", "load_far", "jerky", "head_drop", "knee_over_toes")
#: Key for faults that apply to a hold (and, after expansion, the code set of a hold).
HOLD = 0


class LabelsError(ValueError):
    """A labels file is missing or unreadable as a whole (message names the file)."""


@dataclass(frozen=True)
class ClipLabel:
    """One labelled clip.

    ``reps``/``hold_s`` hold one expected value per labelled person (``None`` when the
    row does not give them).  ``faults`` maps rep number (1-based; :data:`HOLD` for a
    hold) to the fault codes expected in it; ``None`` means not known.  ``kind`` is
    ``"reps"``, ``"hold"``, ``"detect"`` (no exercise) or ``"unsupported"``.
    """

    file: str
    path: Path
    labels_file: Path
    row: int  # line number in the labels file (the header is line 1)
    exercise: str | None
    kind: str
    people: int = 1
    reps: tuple[int, ...] | None = None
    hold_s: tuple[float, ...] | None = None
    view: str | None = None
    faults: dict[int, frozenset[str]] | None = None
    problem: str | None = None

    @property
    def where(self) -> str:
        """``labels.csv row 5`` style location for messages."""
        return f"{self.labels_file} row {self.row}"

    @property
    def expected(self) -> tuple[float, ...]:
        """Expected count (reps) or seconds (hold) per person, largest first."""
        vals = self.reps if self.kind == "reps" else self.hold_s if self.kind == "hold" else None
        return tuple(sorted(vals or (), reverse=True))


def find_label_files(root: Path) -> list[Path]:
    """``root/labels.csv`` and every ``labels.csv`` below it, outermost first.

    Raises :class:`LabelsError` if ``root`` is not a folder or holds no labels file.
    """
    if not root.exists():
        raise LabelsError(f"folder not found: '{root}'")
    if not root.is_dir():
        raise LabelsError(f"'{root}' is not a folder; pass the folder holding the clips and their {LABELS_NAME}")
    found = sorted(root.rglob(LABELS_NAME), key=lambda p: (len(p.relative_to(root).parts), str(p)))
    if not found:
        raise LabelsError(f"no {LABELS_NAME} in '{root}' or its sub-folders; write one (docs/evaluation.md) "
                          "or pass --labels FILE")
    return found


def read_labels(path: Path, clips_dir: Path | None = None, supported: dict[str, str] | None = None,
                ) -> list[ClipLabel]:
    """Parse one labels file.

    Args:
        path: the CSV file.
        clips_dir: a second folder to look for clips in (after the labels file's folder).
        supported: exercise id -> kind (``"reps"``/``"hold"``) the engine knows;
            default: every definition in ``exercises/definitions``.
    """
    if supported is None:
        supported = supported_exercises()
    if not path.is_file():
        raise LabelsError(f"labels file not found: '{path}'")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"cannot read labels file '{path}': {exc}") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise LabelsError(f"labels file '{path}' is empty; it needs a header row with {', '.join(KNOWN_COLUMNS)}")
    cols = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise LabelsError(f"{path} row 1: missing column(s) {', '.join(missing)} (header is {', '.join(cols)})")
    has_faults = "faults" in cols
    out: list[ClipLabel] = []
    seen: dict[tuple[str, str | None], int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        rec = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(cols)}
        label = _parse_row(rec, path, line, clips_dir, supported, has_faults)
        key = (label.file, label.exercise)
        if label.problem is None and key in seen:
            label = _with_problem(label, f"duplicate of row {seen[key]}")
        seen.setdefault(key, line)
        if label.problem:
            log.warning("%s", label.problem)
        out.append(label)
    return out


def supported_exercises() -> dict[str, str]:
    """Exercise id -> kind for every exercise definition the engine has."""
    from exercises.definition import list_exercises

    return {row[0]: row[2] for row in list_exercises()}


#: Common names of exercises the engine knows under another id.
ALIASES = {"pushup": "push_up", "pushups": "push_up", "push_ups": "push_up", "press_up": "push_up",
           "deadlift": "floor_lift", "squats": "squat", "planks": "plank", "lunges": "lunge",
           "bridge": "glute_bridge", "deadbug": "dead_bug", "birddog": "bird_dog"}


def normalise_exercise(name: str) -> str:
    """``Push-Up`` -> ``push_up``; ``deadlift`` -> ``floor_lift`` (see :data:`ALIASES`)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


# ----------------------------------------------------------------------------- rows
def _with_problem(label: ClipLabel, problem: str) -> ClipLabel:
    from dataclasses import replace

    return replace(label, problem=f"{label.where}: {problem}")


def _parse_row(rec: dict[str, str], path: Path, line: int, clips_dir: Path | None,
               supported: dict[str, str], has_faults: bool) -> ClipLabel:
    file = rec.get("file", "")
    where = f"{path} row {line}"
    clip = _resolve(file, path.parent, clips_dir)
    exercise = normalise_exercise(rec.get("exercise", "")) or None
    kind = "detect" if exercise is None else supported.get(exercise, "unsupported")
    base = ClipLabel(file=file, path=clip, labels_file=path, row=line, exercise=exercise, kind=kind)
    if not file:
        return _with_problem(base, "the 'file' cell is empty")
    view = rec.get("view", "").lower() or None
    if kind == "unsupported":  # shown as skipped; its other cells do not matter
        people = rec.get("people", "")
        return ClipLabel(file=file, path=clip, labels_file=path, row=line, exercise=exercise, kind=kind, view=view,
                         people=int(people) if people.isdigit() else 1)
    try:
        people = _int(rec.get("people", ""), "people", default=1)
        if view is not None and view not in VIEWS:
            log.warning("%s: unknown view %r (known: %s); kept for the per-view table", where, view,
                        ", ".join(VIEWS))
        reps = _per_person(rec.get("reps", ""), people, "reps", _int)
        hold = _per_person(rec.get("hold_s", ""), people, "hold_s", _float)
        base = ClipLabel(file=file, path=clip, labels_file=path, row=line, exercise=exercise, kind=kind,
                         people=people, reps=reps, hold_s=hold, view=view)
        if kind != "detect" and people < 1:
            raise ValueError(f"people must be at least 1 for an exercise, got {people}")
        if kind == "reps" and reps is None:
            raise ValueError(f"'{exercise}' counts repetitions but the 'reps' cell is empty")
        if kind == "hold" and hold is None:
            raise ValueError(f"'{exercise}' is a hold but the 'hold_s' cell is empty")
        faults = _faults(rec.get("faults", ""), kind, reps, where) if has_faults and kind != "detect" else None
    except ValueError as exc:
        return _with_problem(base, str(exc))
    from dataclasses import replace

    return replace(base, faults=faults)


def _resolve(file: str, labels_dir: Path, clips_dir: Path | None) -> Path:
    p = Path(file).expanduser()
    if p.is_absolute():
        return p
    first = labels_dir / p
    if not first.exists() and clips_dir is not None and (clips_dir / p).exists():
        return clips_dir / p
    return first


def _int(cell: str, name: str, default: int | None = None) -> int:
    if not cell:
        if default is None:
            raise ValueError(f"'{name}' is empty")
        return default
    try:
        val = float(cell)
    except ValueError:
        raise ValueError(f"'{name}' must be a whole number, got {cell!r}") from None
    if not val.is_integer() or val < 0:
        raise ValueError(f"'{name}' must be a whole number >= 0, got {cell!r}")
    return int(val)


def _float(cell: str, name: str, default: float | None = None) -> float:
    try:
        val = float(cell)
    except ValueError:
        raise ValueError(f"'{name}' must be a number of seconds, got {cell!r}") from None
    if not math.isfinite(val) or val < 0:
        raise ValueError(f"'{name}' must be a number >= 0, got {cell!r}")
    return val


def _per_person(cell: str, people: int, name: str, conv: object) -> tuple | None:
    """``3`` -> one value for every person; ``3|2`` -> one per person."""
    if not cell:
        return None
    parts = [c.strip() for c in cell.replace(";", "|").split("|")]
    vals = tuple(conv(p, name) for p in parts)  # type: ignore[operator]
    if len(vals) == 1:
        return vals * max(people, 1)
    if len(vals) != people:
        raise ValueError(f"'{name}' lists {len(vals)} values but 'people' is {people}")
    return vals


def _faults(cell: str, kind: str, reps: tuple[int, ...] | None, where: str) -> dict[int, frozenset[str]] | None:
    """Parse ``rep1:knee_valgus|rep3:too_shallow`` / ``hold:hips_sagging`` / ``CODE``; ``?`` = unknown."""
    if cell == "?":
        return None
    n_reps = max(reps) if reps else 0
    out: dict[int, set[str]] = {}
    for item in (p.strip() for p in cell.replace(",", "|").split("|")):
        if not item:
            continue
        scope, _, code = item.rpartition(":")
        code, scope = code.strip().lower(), scope.strip().lower()
        if code not in FAULT_CODES:
            log.warning("%s: fault %r is not one of the shared fault codes (%s)", where, code, ", ".join(FAULT_CODES))
        if kind == "hold":
            if scope not in ("", "all", "hold"):
                raise ValueError(f"fault {item!r}: a hold takes 'hold:CODE' or 'CODE'")
            targets = [HOLD]
        elif scope in ("", "all"):
            targets = list(range(1, n_reps + 1))
        elif scope.startswith("rep") and scope[3:].isdigit():
            k = int(scope[3:])
            if not 1 <= k <= n_reps:
                raise ValueError(f"fault {item!r}: rep {k} is outside 1..{n_reps}")
            targets = [k]
        else:
            raise ValueError(f"fault {item!r}: expected CODE, repN:CODE or hold:CODE")
        for k in targets:
            out.setdefault(k, set()).add(code)
    return {k: frozenset(v) for k, v in sorted(out.items())}
