"""Video review without Streamlit: run the pipeline over a file and keep what the page shows.

:func:`analyse_video` drives :meth:`exercises.pipeline.Pipeline.run` and records, per frame and
person, the exercise's metric values and setup problems as the engine saw them, so the page can
draw the metrics over time with the very thresholds the engine used.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exercises.definition import ExerciseDef
from exercises.pipeline import Pipeline, PipelineConfig
from exercises.profile import Profile

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]


@dataclass
class ReviewResult:
    """Everything the video review page shows for one analysed video."""

    source: str
    exercise: str
    lang: str
    report: dict[str, Any]
    summary: dict[str, Any]
    #: per frame and person: ``{"t_s", "track_id", "<metric>": value, ...}``
    samples: list[dict[str, Any]] = field(default_factory=list)
    #: per person: the exercise definition the engine used (the profile applied)
    definitions: dict[int, ExerciseDef] = field(default_factory=dict)
    #: per person: setup problem key -> frames in which it was present
    problems: dict[int, Counter[str]] = field(default_factory=dict)
    #: per person: frames in which they were seen
    frames_seen: Counter[int] = field(default_factory=Counter)
    video: bytes | None = None
    stored_in: str | None = None

    @property
    def primary_id(self) -> int | None:
        """The person most likely exercising (the report's choice)."""
        return self.report.get("primary_id")

    def person(self, track_id: int | None = None) -> dict[str, Any] | None:
        """One person's entry of the report (default: the primary person)."""
        tid = self.primary_id if track_id is None else track_id
        return next((p for p in self.report.get("people", []) if p["id"] == tid), None)

    def frequent_problems(self, track_id: int, share: float = 0.3) -> list[str]:
        """Setup problems present in at least ``share`` of the frames that show this person."""
        seen = self.frames_seen.get(track_id, 0)
        counts = self.problems.get(track_id, Counter())
        return [k for k, n in counts.most_common() if seen and n / seen >= share]


def analyse_video(
    path: str | Path, *, exercise: str, lang: str = "de", people: int = 2, model: str | None = None,
    profile: Profile | None = None, progress: Progress | None = None, draw: bool = True,
    store_dir: Path | None = None,
) -> ReviewResult:
    """Analyse one video file; the annotated video is kept in memory only (unless ``store_dir``).

    Raises the capture errors of :func:`vision.capture.open_video` and :class:`vision.model.ModelError`.
    """
    cfg = PipelineConfig(people=people, model=model, exercise=exercise, lang=lang, profiles=profile, draw=draw)
    samples: list[dict[str, Any]] = []
    problems: dict[int, Counter[str]] = {}
    seen: Counter[int] = Counter()
    with tempfile.TemporaryDirectory(prefix="formcheck-review-") as tmp:
        out = Path(tmp) / "annotated.mp4" if draw else None
        with Pipeline(cfg) as pipe:
            engine = pipe.engine

            def on_step(res: Any) -> None:
                t_s = res.frame.t_s
                for tid in (int(x) for x in res.frame.track_id):
                    person = engine.people.get(tid)
                    if person is None:
                        continue
                    seen[tid] += 1
                    samples.append({"t_s": t_s, "track_id": tid, **person.values})
                    problems.setdefault(tid, Counter()).update(person.problems)

            result = pipe.run(path, video_out=out, on_step=on_step, progress=progress)
            definitions = {tid: p.ex for tid, p in engine.people.items()}
        video = out.read_bytes() if out is not None and out.is_file() else None
        stored = _store(store_dir, Path(path), out, result.report) if store_dir is not None else None
    return ReviewResult(source=str(path), exercise=exercise, lang=lang, report=result.report or {},
                        summary=result.summary(), samples=samples, definitions=definitions, problems=problems,
                        frames_seen=seen, video=video, stored_in=stored)


def _store(store_dir: Path, source: Path, annotated: Path | None, report: dict[str, Any] | None) -> str:
    """Keep the source video, the annotated video and the report (only when the user asked for it)."""
    import json

    dest = store_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{source.stem}"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, dest / f"original{source.suffix}")
    if annotated is not None and annotated.is_file():
        shutil.copy2(annotated, dest / "annotated.mp4")
    (dest / "report.json").write_text(json.dumps(report or {}, indent=2, ensure_ascii=False), encoding="utf-8")
    log.info("stored review in %s", dest)
    return str(dest)
