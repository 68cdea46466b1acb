"""Synthetic landmark sequences for the exercise engine: skeletons moving through an exercise.

A :class:`Actor` performs ``reps`` repetitions of an exercise (or a hold) with a known tempo,
pauses, injected faults per rep, and optionally a getting-into-position lead-in.  It is
filmed by a pinhole :class:`Camera` from the front, the side or in between; the 3D skeleton
(``tests/synthetic_poses.py``) is projected to pixels and to MediaPipe-style world landmarks
(hip-centred, camera-aligned, y down), with noise, dropouts and low visibility as asked.
:func:`make_frames` turns actors into tracked :class:`vision.frame.Frame` objects.

``s`` follows the convention of ``synth/``: 0 = start position, 1 = far point (the bottom of
a squat, standing with the load in a floor lift).  A rep is complete, and counted, at the
last frame of its way back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from synthetic_poses import ALTERNATING, POSES, Y, _cross, _rot

from vision.frame import Frame
from vision.landmarks import NUM_LANDMARKS, Landmark

L = Landmark
LYING = {"push_up", "plank", "side_plank", "bird_dog", "glute_bridge", "dead_bug", "superman"}
_LEFT = [lm for lm in L if lm.name.startswith("LEFT_")]
_RIGHT = [lm for lm in L if lm.name.startswith("RIGHT_")]


def ease(x: float) -> float:
    """Smooth 0 -> 1 (cosine)."""
    x = min(max(x, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * x)


@dataclass(frozen=True)
class Tempo:
    """Durations of one rep, seconds."""

    out_s: float = 1.0
    peak_s: float = 0.3
    back_s: float = 1.0
    rest_s: float = 0.6
    lead_in_s: float = 1.0
    lead_out_s: float = 1.0


@dataclass
class Segment:
    """A piece of the timeline: ``s`` goes from ``s0`` to ``s1`` over ``[t0, t1)``."""

    t0: float
    t1: float
    s0: float
    s1: float
    rep: int  # 1-based rep this segment belongs to, 0 for rests
    jerky: bool = False
    pose: str | None = None  # an other pose family (getting into position)
    blend: tuple[float, float] = (1.0, 1.0)  # weight of the exercise pose vs. ``pose`` (start, end)


@dataclass
class Actor:
    """One person doing an exercise in front of the camera."""

    exercise: str
    reps: int = 3
    tempo: Tempo = field(default_factory=Tempo)
    faults: dict[int, tuple[str, ...]] = field(default_factory=dict)  # rep (1-based) -> fault codes
    hold_s: float = 0.0  # for holds: how long the pose is held
    hold_faults: tuple[tuple[float, float, str], ...] = ()  # (t0, t1, code) fault windows in a hold
    pause_mid_rep: dict[int, float] = field(default_factory=dict)  # rep -> seconds paused half way down
    setup: str | None = None  # "walk_in" | "get_down": getting into position before the first rep
    track_id: int = 1
    offset: tuple[float, float] = (0.0, 0.0)  # metres along the camera's x and depth
    yaw_deg: float = 0.0  # extra rotation of the person about the vertical
    height_scale: float = 1.0
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.segments = self._timeline()

    # ------------------------------------------------------------------ timeline
    def _timeline(self) -> list[Segment]:
        tp = self.tempo
        t = 0.0
        segs: list[Segment] = []
        if self.setup:
            other = "standing"
            segs.append(Segment(t, t + 1.0, 0.0, 0.0, 0, pose=other, blend=(0.0, 0.0)))
            t += 1.0
            segs.append(Segment(t, t + 1.5, 0.0, 0.0, 0, pose=other, blend=(0.0, 1.0)))
            t += 1.5
        if self.exercise in ("plank", "side_plank"):
            segs.append(Segment(t, t + self.hold_s, 0.0, 0.0, 0))
            return segs
        segs.append(Segment(t, t + tp.lead_in_s, 0.0, 0.0, 0))
        t += tp.lead_in_s
        for r in range(1, self.reps + 1):
            jerky = "jerky" in self.faults.get(r, ())
            k = 1 / 2.5 if jerky else 1.0
            pause = self.pause_mid_rep.get(r, 0.0)
            if pause:
                segs.append(Segment(t, t + tp.out_s * k / 2, 0.0, 0.5, r))
                t += tp.out_s * k / 2
                segs.append(Segment(t, t + pause, 0.5, 0.5, r))
                t += pause
                segs.append(Segment(t, t + tp.out_s * k / 2, 0.5, 1.0, r))
                t += tp.out_s * k / 2
            else:
                segs.append(Segment(t, t + tp.out_s * k, 0.0, 1.0, r, jerky))
                t += tp.out_s * k
            segs.append(Segment(t, t + tp.peak_s * k, 1.0, 1.0, r, jerky))
            t += tp.peak_s * k
            segs.append(Segment(t, t + tp.back_s * k, 1.0, 0.0, r, jerky))
            t += tp.back_s * k
            rest = tp.rest_s if r < self.reps else tp.lead_out_s
            segs.append(Segment(t, t + rest, 0.0, 0.0, 0))
            t += rest
        return segs

    @property
    def duration_s(self) -> float:
        return self.segments[-1].t1 if self.segments else 0.0

    def rep_windows(self) -> list[tuple[float, float]]:
        """(start, end) seconds of each rep; a rep is complete at its end."""
        out: dict[int, list[float]] = {}
        for sg in self.segments:
            if sg.rep:
                w = out.setdefault(sg.rep, [sg.t0, sg.t1])
                w[1] = sg.t1
        return [tuple(out[r]) for r in sorted(out)]  # type: ignore[misc]

    def _fault_levels(self, t: float, seg: Segment) -> dict[str, float]:
        lv: dict[str, float] = {}
        if self.exercise in ("plank", "side_plank"):
            for t0, t1, code in self.hold_faults:
                if t0 <= t < t1:
                    lv[code] = min(1.0, (t - t0) / 0.5, (t1 - t) / 0.3)
            return lv
        windows = self.rep_windows()
        for r, codes in self.faults.items():
            win = windows[r - 1] if r - 1 < len(windows) else None
            if win is None:
                continue
            ramp = min(0.25, self.tempo.rest_s / 2)
            a = min(1.0, (t - (win[0] - ramp)) / ramp) if ramp else float(win[0] <= t)
            b = min(1.0, ((win[1] + ramp) - t) / ramp) if ramp else float(t < win[1])
            level = max(0.0, min(a, b))
            for c in codes:
                if c != "jerky" and level > 0:
                    lv[c] = max(lv.get(c, 0.0), level)
        return lv

    def pose_at(self, t: float) -> np.ndarray | None:
        """Body-local 3D landmarks ``(33, 3)`` at time ``t`` (None outside the timeline)."""
        seg = next((sg for sg in self.segments if sg.t0 <= t < sg.t1), None)
        if seg is None:
            return None
        x = (t - seg.t0) / max(seg.t1 - seg.t0, 1e-9)
        if seg.jerky:
            s = seg.s0 + (seg.s1 - seg.s0) * min(1.0, 1.15 * x)  # abrupt start/stop, overshoot
            if seg.s0 == seg.s1 == 1.0:
                s = 1.0 - 0.12 * math.sin(math.pi * x)
        else:
            s = seg.s0 + (seg.s1 - seg.s0) * ease(x)
        side = 1 if seg.rep % 2 == 1 or self.exercise not in ALTERNATING else -1
        if self.exercise == "lunge":
            side = 1
        pts = POSES[self.exercise](s, self._fault_levels(t, seg), side)
        if seg.pose is not None:  # getting into position: walk in standing, then blend into the start pose
            w = seg.blend[0] + (seg.blend[1] - seg.blend[0]) * ease(x)
            other = POSES[seg.pose](0.0, {}, 1)
            if seg.blend == (0.0, 0.0):
                other = other + np.array([-2.0 * (1.0 - x), 0.0, 0.0])
            pts = w * pts + (1 - w) * other
        return pts * self.height_scale


@dataclass(frozen=True)
class Camera:
    """Pinhole camera looking at the origin; ``view`` = angle of the camera around the person
    (0 = in front, 90 = at the person's left side, 45 = oblique)."""

    view_deg: float = 0.0
    distance: float = 3.6
    height: float = 1.0
    width: int = 1280
    height_px: int = 720
    focal: float = 780.0
    look_at_y: float = 0.9

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """World->camera rotation (rows: right, down, forward) and camera centre."""
        return _camera_pose(self)

    def _pose(self) -> tuple[np.ndarray, np.ndarray]:
        a = math.radians(self.view_deg)
        c = np.array([self.distance * math.sin(a), self.height, self.distance * math.cos(a)])
        fwd = np.array([0.0, self.look_at_y, 0.0]) - c
        fwd /= np.linalg.norm(fwd)
        right = _cross(fwd, Y)
        right /= np.linalg.norm(right)
        down = _cross(fwd, right)
        return np.stack([right, down, fwd]), c

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixels ``(33, 2)``, MediaPipe-like relative depth ``(33,)`` and world ``(33, 3)``."""
        R, c = self.pose()
        pc = (pts - c) @ R.T
        z = np.maximum(pc[:, 2], 0.1)
        xy = np.stack([self.width / 2 + self.focal * pc[:, 0] / z, self.height_px / 2 + self.focal * pc[:, 1] / z],
                      axis=1)
        hip = 0.5 * (pts[L.LEFT_HIP] + pts[L.RIGHT_HIP])
        world = (pts - hip) @ R.T
        zc_hip = float(((hip - c) @ R.T)[2])
        depth = (pc[:, 2] - zc_hip) * self.focal / zc_hip
        return xy, depth, world


@functools.lru_cache(maxsize=64)
def _camera_pose(cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    return cam._pose()  # the same camera films every frame: compute its pose once


VIEWS = {"front": 0.0, "side": 90.0, "oblique": 45.0, "side_right": -90.0, "oblique_right": -45.0}


def camera_for(exercise: str, view: str, **kw: float) -> Camera:
    """A sensible camera for the exercise: lower and looking lower for floor exercises."""
    deg = VIEWS[view] if isinstance(view, str) else float(view)
    if exercise in LYING:
        return Camera(view_deg=deg, height=kw.get("height", 0.7), look_at_y=0.25, distance=kw.get("distance", 3.2))
    return Camera(view_deg=deg, height=kw.get("height", 1.0), distance=kw.get("distance", 3.6))


@dataclass
class Filming:
    """How the actors are filmed: camera, frame rate, noise, dropouts, cuts."""

    camera: Camera
    fps: float = 30.0
    noise_px: float = 1.0  # pixel noise sigma
    noise_world_m: float = 0.008
    dropout_rate: float = 0.0  # fraction of frames in which a person is missing entirely
    landmark_dropout: float = 0.0  # fraction of landmarks NaN'd (visibility 0) per frame
    absent: tuple[tuple[float, float], ...] = ()  # (t0, t1): the actor leaves the frame
    cut_at: float | None = None  # a video cut: the camera jumps at this time
    id_after_cut: int | None = None  # the tracker gives the first actor a new id after the cut
    id_change: tuple[float, int] | None = None  # (t, id): the first actor has a new track id from t on
    start_s: float = 0.0  # the clip starts late (mid-rep)
    end_s: float | None = None  # the clip ends early
    seed: int = 0


def _person_arrays(actor: Actor, cam: Camera, t: float, rng: np.random.Generator, film: Filming):
    pts = actor.pose_at(t)
    if pts is None:
        return None
    R = _rot(Y, actor.yaw_deg)
    pts = pts @ R.T + np.array([actor.offset[0], 0.0, actor.offset[1]])
    xy, depth, world = cam.project(pts)
    xy = xy + rng.normal(0.0, film.noise_px, xy.shape)
    world = world + rng.normal(0.0, film.noise_world_m, world.shape) * np.array([1.0, 1.0, 1.5])
    vis = np.full(NUM_LANDMARKS, 0.95)
    # the side away from the camera is partly occluded in a side view
    R_c, _c = cam.pose()
    away = (pts[L.LEFT_SHOULDER] - pts[L.RIGHT_SHOULDER]) @ R_c[2]
    far = _LEFT if away > 0.15 else _RIGHT if away < -0.15 else []
    vis[far] = 0.7
    out = (xy[:, 0] < 0) | (xy[:, 0] > cam.width) | (xy[:, 1] < 0) | (xy[:, 1] > cam.height_px)
    vis[out] = 0.05
    if film.landmark_dropout:
        drop = rng.random(NUM_LANDMARKS) < film.landmark_dropout
        xy[drop] = np.nan
        world[drop] = np.nan
        vis[drop] = 0.0
    return xy, depth, vis, world


def make_frames(actors: Sequence[Actor], film: Filming, duration_s: float | None = None) -> list[Frame]:
    """Tracked frames (track id = ``actor.track_id``) of the actors as filmed."""
    rng = np.random.default_rng(film.seed)
    dur = duration_s if duration_s is not None else max(a.duration_s for a in actors)
    end = film.end_s if film.end_s is not None else dur
    frames = []
    n0 = math.ceil(film.start_s * film.fps)
    n1 = math.floor(end * film.fps)
    for i, n in enumerate(range(n0, n1)):
        t = n / film.fps
        cam = film.camera
        if film.cut_at is not None and t >= film.cut_at:
            cam = Camera(view_deg=cam.view_deg + 35.0, height=cam.height + 0.3, distance=cam.distance * 0.7,
                         look_at_y=cam.look_at_y)
        rows = []
        for a in actors:
            if any(t0 <= t < t1 for t0, t1 in film.absent) and a is actors[0]:
                continue
            if film.dropout_rate and rng.random() < film.dropout_rate:
                continue
            arr = _person_arrays(a, cam, t, rng, film)
            if arr is not None:
                tid = a.track_id
                if film.id_after_cut is not None and film.cut_at is not None and t >= film.cut_at and a is actors[0]:
                    tid = film.id_after_cut
                if film.id_change is not None and t >= film.id_change[0] and a is actors[0]:
                    tid = film.id_change[1]
                rows.append((tid, *arr))
        f = Frame(index=i, t_ms=round(t * 1000), width=cam.width, height=cam.height_px)
        if rows:
            f = f.with_people(
                xy=np.stack([r[1] for r in rows]).astype(np.float32), z=np.stack([r[2] for r in rows]),
                visibility=np.stack([r[3] for r in rows]), world=np.stack([r[4] for r in rows]),
                track_id=np.array([r[0] for r in rows], np.int64))
        frames.append(f)
    return frames


def run_engine(frames: Sequence[Frame], exercise: str, *, live: bool = True, lang: str = "en", profiles=None):
    """Feed frames through an :class:`ExerciseEngine`; returns the finished engine."""
    from exercises.engine import ExerciseEngine

    eng = ExerciseEngine(exercise, lang=lang, live=live, profiles=profiles)
    end_ms = frames[-1].t_ms + 1000.0 / 30 if frames else 0.0
    if live:
        for f in frames:
            eng.update(f)
        eng.finish(end_ms)
    else:
        eng.analyse(frames, end_ms)
    return eng
