"""Clip generation: a :class:`ClipSpec` (people, camera, room, light) → video frames + ground truth.

:func:`random_clip` draws the variety (body, clothes, room, light, camera) from
``numpy.random.default_rng(seed)``, so a seed fixes every pixel and every truth value.
:class:`ClipRenderer` computes all poses first (to frame the camera on the whole
motion), renders the room once, then renders frames on demand;
:func:`write_clip` writes the H.264 video and the truth JSON, optionally with
several worker processes.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from synth import exercises
from synth.body import BodyShape, Pose, rot_y
from synth.camera import Camera
from synth.faults import format_faults
from synth.figure import Appearance, figure_parts
from synth.motion import State, hold_timeline, rep_timeline
from synth.render import Parts, render
from synth.scene import Room, make_light, random_appearance, random_room, render_room
from synth.truth import model_angles, person_frame, sagittal_angles, write_truth
from vision.landmarks import Landmark

log = logging.getLogger(__name__)

VIEWS = {"front": 0.0, "oblique": 45.0, "side": 90.0}
#: faults that end a correct hold (head_drop is only a remark)
HOLD_BREAKING = frozenset({"hips_sagging", "hips_piking", "twisting"})
GENERATOR = "formcheck.synth 1"


@dataclass(frozen=True)
class PersonSpec:
    """One person in a clip: what they do, how they look, where they are."""

    exercise: str
    reps: int = 3
    hold_s: float = 6.0
    faults: dict[int, list[str]] = field(default_factory=dict)  # rep (1-based; 0 = hold) -> codes
    tempo: float = 1.0  # >1 slower
    peak_s: float | None = None  # pause at the far point (default: the exercise's tempo)
    rest_s: float | None = None  # pause in the start position between reps
    depth: float = 1.0
    side: str = "left"  # lunge: front leg
    shape: BodyShape = field(default_factory=BodyShape)
    appearance: Appearance = field(default_factory=Appearance)
    position: tuple[float, float] = (0.0, 0.0)  # x, z on the floor
    heading: float = 0.0  # degrees about the vertical; 0 = facing (or head towards) +z
    delay_s: float = 0.0
    fault_onset_s: float = 1.5  # holds
    speed: float = 1.1  # walk


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines a clip."""

    people: tuple[PersonSpec, ...]
    azimuth: float = 90.0  # camera direction from person 0, degrees from their heading
    view: str = "side"
    fps: int = 30
    size: tuple[int, int] = (480, 360)
    camera_height: float = 1.1
    fill: float = 0.7  # the motion's bounding box spans this fraction of the frame
    vfov: float = 50.0
    room: Room = field(default_factory=Room)
    mat: tuple[float, float, float] | None = (0.25, 0.45, 0.55)  # sRGB of the mat under lying people
    light: tuple[float, float, float, float, float] = (40.0, 50.0, 1.0, 0.0, 0.45)  # az, el, I, warmth, amb
    noise: float = 0.0  # sensor noise, standard deviation in 8-bit levels
    exposure: float = 1.0  # exposure compensation: multiplies the auto-exposure (< 1: an under-exposed, dim picture)
    crf: int = 23
    blur: float = 0.6
    seed: int = 0
    duration_s: float | None = None


def timeline(p: PersonSpec, fps: float) -> list[State]:
    """The motion states of one person at ``fps``."""
    model = exercises.get(p.exercise)
    if model.kind == "hold":
        return hold_timeline(p.hold_s, fps, p.faults.get(0, []), p.fault_onset_s)
    if model.kind == "walk":
        return [State(i / fps, "walk", 0.0, 0, 0, 1) for i in range(int(p.hold_s * fps) + 1)]
    tempo = model.tempo.scaled(p.tempo)
    tempo = replace(tempo, peak_s=tempo.peak_s if p.peak_s is None else p.peak_s,
                    rest_s=tempo.rest_s if p.rest_s is None else p.rest_s)
    return rep_timeline(p.reps, tempo, fps, p.faults, alternate=model.alternate, setup=model.setup)


def pose_extras(pose: Pose) -> dict:
    """Model values the landmarks alone do not give (for the truth angles)."""
    extra = {"spine_flexion": pose.spine_flexion(), "back_dir": -pose.frames["pelvis"][:, 2]}
    if "box" in pose.props:
        mid = (pose["l_ankle"] + pose["r_ankle"]) / 2
        d = pose.props["box"][0] - mid
        extra["box_distance"] = float(np.hypot(d[0], d[2]))
    return extra


def fit_camera(spec: ClipSpec, pts: np.ndarray, heading: float) -> Camera:
    """A camera at ``spec.azimuth``/``camera_height`` whose view holds ``pts`` at ``spec.fill`` of the frame."""
    w, h = spec.size
    lo, hi = pts.min(axis=0) - 0.12, pts.max(axis=0) + 0.12
    lo[1] = max(lo[1], 0.0)
    centre = (lo + hi) / 2
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    direction = rot_y(heading + spec.azimuth) @ np.array([0.0, 0.0, 1.0])

    def cam_at(d: float) -> Camera:
        pos = centre + direction * d
        pos[1] = spec.camera_height
        target = centre.copy()
        return Camera.look_at(pos, target, w, h, spec.vfov)

    near, far = 0.5, 60.0
    for _ in range(40):
        mid = (near + far) / 2
        cam = cam_at(mid)
        uv = cam.project(corners)
        ext = max((np.nanmax(uv[:, 0]) - np.nanmin(uv[:, 0])) / w, (np.nanmax(uv[:, 1]) - np.nanmin(uv[:, 1])) / h)
        ok = np.isfinite(uv).all() and ext <= spec.fill and (cam.to_camera(corners)[:, 2] > 0.3).all()
        near, far = (near, mid) if ok else (mid, far)
    return cam_at(far)


class ClipRenderer:
    """Poses, camera and room of one clip; renders frame ``i`` with its truth."""

    def __init__(self, spec: ClipSpec) -> None:
        self.spec = spec
        self.timelines = [timeline(p, spec.fps) for p in spec.people]
        lengths = [len(tl) + round(p.delay_s * spec.fps) for tl, p in zip(self.timelines, spec.people,
                                                                               strict=True)]
        self.n_frames = round(spec.duration_s * spec.fps) + 1 if spec.duration_s is not None else max(lengths)
        self.poses = [[self._pose(k, i) for i in range(self.n_frames)] for k in range(len(spec.people))]
        # the camera frames the people exercising; someone walking through may enter and leave the view
        framed = [seq for p, seq in zip(spec.people, self.poses, strict=True) if p.exercise != "walk"] or self.poses
        pts = np.concatenate([np.stack([p.landmarks() for p in seq]).reshape(-1, 3) for seq in framed])
        self.camera = fit_camera(spec, pts, spec.people[0].heading)
        self.rays = self.camera.rays()
        self.light = make_light(*spec.light)
        centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
        room = spec.room
        if spec.mat is not None:
            room = replace(room, mats=room.mats + tuple(self._mat(k) for k, p in enumerate(spec.people)
                                                        if exercises.get(p.exercise).lying))
        self.background = render_room(self.camera, self.rays, room, self.light, centre)
        lum = (self.background.ambient + self.background.direct) @ np.array([0.2126, 0.7152, 0.0722])
        #: auto-exposure, as a camera would: the room's 98th luminance percentile shows at ~90 % white
        self.exposure = float(np.clip(0.78 / max(np.percentile(lum, 98), 1e-6), 0.4, 2.5)) * spec.exposure

    def _mat(self, k: int) -> tuple:
        """An exercise mat under person ``k``'s whole motion, aligned with their heading."""
        p = self.spec.people[k]
        pts = np.stack([q.landmarks() for q in self.poses[k]]).reshape(-1, 3)
        rot = rot_y(-p.heading)
        local = (pts - np.array([p.position[0], 0.0, p.position[1]])) @ rot.T
        lo, hi = local.min(axis=0), local.max(axis=0)
        c = rot.T @ ((lo + hi) / 2)
        length = max(1.75, hi[2] - lo[2] + 0.25)
        width = max(0.6, hi[0] - lo[0] + 0.2)
        return (float(c[0] + p.position[0]), float(c[2] + p.position[1]), float(length), float(width),
                float(p.heading), self.spec.mat)

    def state(self, k: int, i: int) -> State:
        """Person ``k``'s motion state at frame ``i`` (held before the start and after the end)."""
        j = i - round(self.spec.people[k].delay_s * self.spec.fps)
        tl = self.timelines[k]
        st = tl[min(max(j, 0), len(tl) - 1)]
        return replace(st, t=round(i / self.spec.fps, 6)) if st.phase == "hold" else st

    def _pose(self, k: int, i: int) -> Pose:
        p = self.spec.people[k]
        st = self.state(k, i)
        opts = {"depth": p.depth, "side": p.side, "speed": p.speed}
        local = exercises.get(p.exercise).pose(p.shape, st, opts)
        return local.transformed(rot_y(p.heading), np.array([p.position[0], 0.0, p.position[1]]))

    def frame(self, i: int) -> tuple[np.ndarray, dict]:
        """BGR uint8 image and truth entry of frame ``i``."""
        spec, cam = self.spec, self.camera
        parts = Parts()
        for k, (p, seq) in enumerate(zip(spec.people, self.poses, strict=True)):
            parts.extend(figure_parts(seq[i], p.appearance, owner=k))
        lin_img, _, depth = render(cam, self.rays, parts, self.light, self.background)
        img = np.clip(lin_img * self.exposure, 0, 1) ** (1 / 2.2) * 255
        if spec.blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), spec.blur)
        if spec.noise > 0:
            img = img + np.random.default_rng([spec.seed, i]).normal(0, spec.noise, img.shape)
        bgr = np.ascontiguousarray(np.clip(np.rint(img), 0, 255).astype(np.uint8)[:, :, ::-1])
        people = []
        for k, seq in enumerate(self.poses):
            lm3 = seq[i].landmarks()
            xy = cam.project(lm3)
            vis = _visible(cam, lm3, xy, depth)
            extra = pose_extras(seq[i])
            people.append(person_frame(k, lm3, xy, vis, model_angles(lm3, extra),
                                       sagittal_angles(lm3, seq[i].frames["pelvis"][:, 0]), self.state(k, i)))
        return bgr, {"index": i, "t_s": round(i / spec.fps, 6), "people": people}

    def _held_correctly(self, k: int) -> float:
        """Seconds person ``k`` holds the pose without a hold-breaking fault (sagging, piking, twisting)."""
        broken = sum(1 for st in self.timelines[k] if set(st.active()) & HOLD_BREAKING)
        return round(max(len(self.timelines[k]) - 1 - broken, 0) / self.spec.fps, 2)

    def header(self) -> dict:
        """The clip-level part of the truth file."""
        spec = self.spec
        people = []
        for k, p in enumerate(spec.people):
            model = exercises.get(p.exercise)
            people.append({
                "id": k, "exercise": p.exercise, "kind": model.kind,
                "reps": p.reps if model.kind == "reps" else 0,
                "hold_s": p.hold_s if model.kind == "hold" else None,
                "hold_correct_s": self._held_correctly(k) if model.kind == "hold" else None,
                "rep_definition": model.rep,
                "faults_by_rep": {str(r): c for r, c in sorted(p.faults.items())},
                "labels_faults": format_faults(p.faults),
                "azimuth_deg": round((spec.azimuth + spec.people[0].heading - p.heading + 180) % 360 - 180, 2),
                "heading_deg": p.heading, "position": list(p.position), "delay_s": p.delay_s,
                "body": asdict(p.shape), "appearance": p.appearance.to_json(),
                "options": {"tempo": p.tempo, "depth": p.depth, "side": p.side, "peak_s": p.peak_s,
                            "rest_s": p.rest_s},
            })
        return {
            "generator": GENERATOR, "seed": spec.seed, "exercise": spec.people[0].exercise, "view": spec.view,
            "fps": spec.fps, "width": spec.size[0], "height": spec.size[1], "n_frames": self.n_frames,
            "duration_s": round((self.n_frames - 1) / spec.fps, 4), "camera": self.camera.to_json(),
            "room": spec.room.to_json(), "light": dict(zip(("azimuth", "elevation", "strength", "warmth",
                                                             "ambient"), spec.light, strict=True)),
            "noise": spec.noise, "crf": spec.crf, **({"exposure": spec.exposure} if spec.exposure != 1.0 else {}),
            "rep_counting": "a rep is counted at the instant its 'back' phase ends, in the start position; "
                            "'reps_done' steps up on that frame",
            "landmarks": [lm.name for lm in Landmark], "people": people,
        }


# How deep inside the body surface each landmark lies (m), so that only *other* surfaces hide it.
_VIS_TOL = np.full(len(Landmark), 0.05)
for _names, _tol in ((("HIP",), 0.16), (("KNEE", "SHOULDER"), 0.11), (("ELBOW",), 0.075), (("ANKLE",), 0.065)):
    for _n in _names:
        _VIS_TOL[[Landmark[f"LEFT_{_n}"], Landmark[f"RIGHT_{_n}"]]] = _tol


def _visible(cam: Camera, lm3: np.ndarray, xy: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """1 where a landmark is in the frame and no other surface lies clearly in front of it."""
    h, w = depth.shape
    dist = np.linalg.norm(lm3 - cam.position, axis=1)
    inside = np.isfinite(xy).all(axis=1) & (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    out = np.zeros(len(lm3), bool)
    ix = np.clip(np.nan_to_num(xy[:, 0]).astype(int), 0, w - 1)
    iy = np.clip(np.nan_to_num(xy[:, 1]).astype(int), 0, h - 1)
    surface = depth[iy, ix] * 1.0  # ray length to the first surface
    out[inside] = (surface[inside] >= dist[inside] - _VIS_TOL[inside])
    return out


_WORKER: ClipRenderer | None = None


def _init_worker(spec: ClipSpec) -> None:
    global _WORKER
    _WORKER = ClipRenderer(spec)


def _work(i: int) -> tuple[np.ndarray, dict]:
    assert _WORKER is not None
    return _WORKER.frame(i)


def frames(spec: ClipSpec, workers: int = 1) -> tuple[ClipRenderer, Iterator[tuple[np.ndarray, dict]]]:
    """The renderer and an iterator over ``(bgr, truth)`` of every frame, in order.

    With ``workers > 1`` frames are rendered in a process pool; forked workers inherit the
    poses and the room already computed here.
    """
    rend = ClipRenderer(spec)
    if workers <= 1 or rend.n_frames < 8:
        return rend, (rend.frame(i) for i in range(rend.n_frames))

    def gen() -> Iterator[tuple[np.ndarray, dict]]:
        global _WORKER
        if "fork" in mp.get_all_start_methods():
            _WORKER = rend
            pool = mp.get_context("fork").Pool(workers)
        else:  # pragma: no cover - spawn platforms rebuild the renderer in each worker
            pool = mp.get_context().Pool(workers, initializer=_init_worker, initargs=(spec,))
        try:
            with pool:
                yield from pool.imap(_work, range(rend.n_frames), chunksize=4)
        finally:
            _WORKER = None

    return rend, gen()


class Y4MSink:
    """Uncompressed YUV4MPEG2 (4:2:0) writer: what Chromium's ``--use-file-for-fake-video-capture`` reads."""

    def __init__(self, path: str | Path, fps: int, size: tuple[int, int]) -> None:
        w, h = size
        if w % 2 or h % 2:
            raise ValueError(f"{path}: y4m 4:2:0 needs an even frame size, got {w}x{h}")
        self._f = Path(path).open("wb")
        self._f.write(f"YUV4MPEG2 W{w} H{h} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode("ascii"))

    def write(self, bgr: np.ndarray) -> None:
        """Append one BGR frame."""
        self._f.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())

    def __enter__(self) -> Y4MSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


def write_clip(spec: ClipSpec, video: str | Path, truth: str | Path | None = None, workers: int = 1) -> dict:
    """Render ``spec`` to ``video`` and its truth JSON (``.json`` or ``.json.gz``); returns the header.

    ``.mp4`` is H.264 and ``.webm`` VP9 (:class:`vision.sink.VideoSink`); ``.y4m`` is raw
    YUV 4:2:0 for a browser's fake camera.
    """
    from vision.sink import VideoSink

    rend, it = frames(spec, workers)
    entries = []
    y4m = Path(video).suffix.lower() == ".y4m"
    sink = Y4MSink(video, spec.fps, spec.size) if y4m else VideoSink(video, spec.fps, spec.size, crf=spec.crf)
    with sink:
        for bgr, entry in it:
            sink.write(bgr)
            entries.append(entry)
    header = rend.header()
    if truth is not None:
        write_truth(truth, header, entries)
    log.info("wrote %s (%d frames)", video, rend.n_frames)
    return header


def random_clip(exercise: str, seed: int, *, view: str | None = None, reps: int | None = None,
                hold_s: float | None = None, faults: dict[int, list[str]] | None = None, fps: int | None = None,
                size: tuple[int, int] | None = None, people: int = 1, noise: float | None = None,
                crf: int | None = None, crossing: bool = False, mixed: bool = False) -> ClipSpec:
    """A clip of ``exercise`` with every unspecified property drawn from the seed.

    Separate random streams (``default_rng([seed, k])``) draw the people, the room and
    light, and the camera, so the same seed shows the same person in every view.  With
    ``people > 1`` the others do the same exercise, reps and faults (``mixed``: each a
    random exercise, without faults), side by side, facing about the same way, each on
    their own timing.
    """
    who, where, cam = (np.random.default_rng([seed, k]) for k in (1, 2, 3))
    model = exercises.get(exercise)
    view = view or str(cam.choice(list(VIEWS)))
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    flip = 1.0 if view == "front" else float(cam.choice([-1.0, 1.0]))
    azimuth = VIEWS[view] * flip + float(cam.uniform(-6, 6))
    persons = [_random_person(who, exercise, reps, hold_s, faults or {})]
    h0 = persons[0].heading
    cam_dir = rot_y(h0 + azimuth) @ np.array([0.0, 0.0, 1.0])
    lateral = np.cross([0.0, 1.0, 0.0], cam_dir)
    for k in range(1, people):
        other = str(who.choice(exercises.ENGINE_EXERCISES)) if mixed else exercise
        off = ((k + 1) // 2) * 1.5 * (1 if k % 2 else -1)
        xz = lateral * off + cam_dir * float(who.uniform(-0.8, 0.4))
        same = other == exercise
        persons.append(replace(_random_person(who, other, reps if same else None, hold_s if same else None,
                                              (faults or {}) if same else {}),
                               position=(float(xz[0]), float(xz[2])), heading=h0 + float(who.uniform(-25, 25)),
                               delay_s=float(who.uniform(0, 1.0))))
    if crossing:  # someone walks 8 m across, in front of or behind the others, passing mid-clip
        t_mid = len(timeline(persons[0], 10)) / 10 / 2
        walker = _random_person(who, "walk", None, 8.0 / 1.1, {})
        walk_dir = -lateral
        xz = cam_dir * float(who.choice([0.9, -1.2])) - walk_dir * 4.0
        persons.append(replace(walker, heading=float(np.degrees(np.arctan2(walk_dir[0], walk_dir[2]))),
                               position=(float(xz[0]), float(xz[2])), speed=1.1,
                               delay_s=max(0.0, t_mid - 4.0 / 1.1)))
    lying = model.lying
    return ClipSpec(
        people=tuple(persons), azimuth=azimuth, view=view, fps=fps or int(cam.choice([25, 30, 30, 60])),
        size=size or (480, 360), camera_height=float(cam.uniform(0.45, 1.2) if lying else cam.uniform(0.7, 1.6)),
        fill=float(cam.uniform(0.55, 0.8)), vfov=float(cam.uniform(42, 62)), room=random_room(where),
        light=(float(where.uniform(-180, 180)), float(where.uniform(35, 70)), float(where.uniform(0.8, 1.25)),
               float(where.uniform(-1, 1)), float(where.uniform(0.35, 0.6))),
        mat=tuple(float(c) for c in where.choice([(0.25, 0.45, 0.55), (0.55, 0.25, 0.35), (0.2, 0.2, 0.22),
                                                  (0.45, 0.55, 0.3)])),
        noise=float(cam.choice([0.0, 0.0, 2.0, 4.0])) if noise is None else noise,
        crf=int(cam.choice([20, 23, 28])) if crf is None else crf, seed=seed)


def _random_person(rng: np.random.Generator, exercise: str, reps: int | None, hold_s: float | None,
                   faults: dict[int, list[str]]) -> PersonSpec:
    model = exercises.get(exercise)
    sex = str(rng.choice(["f", "m"]))
    shape = BodyShape(height=float(rng.uniform(1.52, 1.80) if sex == "f" else rng.uniform(1.62, 1.95)),
                      build=float(rng.uniform(0.0, 1.0)), leg_ratio=float(rng.uniform(0.96, 1.04)), sex=sex)
    return PersonSpec(
        exercise=exercise, reps=model.default_reps if reps is None else reps,
        hold_s=model.default_hold_s if hold_s is None else hold_s, faults=faults,
        tempo=float(rng.uniform(0.85, 1.2)), depth=float(rng.uniform(0.92, 1.05)),
        side=str(rng.choice(["left", "right"])), shape=shape, appearance=random_appearance(rng),
        heading=float(rng.uniform(-180, 180)))
