"""Rooms, lights, cameras and the random variety of people and places.

A :class:`Room` is a floor (planks, tiles, carpet or gym rubber), a back wall (paint,
brick or panels, with a skirting board and a few posters, a door or a window) and a
ceiling.  It is rendered once per clip into a :class:`~synth.render.Background`
because the camera does not move.  Procedural textures are computed in world
coordinates, so they stay put under perspective.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from synth.camera import Camera
from synth.figure import Appearance, lin
from synth.render import Background, Light, light_basis

FLOORS = ("planks", "tiles", "carpet", "rubber")
WALLS = ("paint", "brick", "panels")

SKIN_TONES = (
    (0.96, 0.80, 0.69), (0.90, 0.72, 0.60), (0.82, 0.62, 0.48), (0.74, 0.53, 0.38),
    (0.62, 0.42, 0.29), (0.50, 0.33, 0.22), (0.40, 0.26, 0.17), (0.30, 0.19, 0.13),
)
HAIR_COLOURS = ((0.06, 0.05, 0.05), (0.20, 0.13, 0.08), (0.38, 0.25, 0.14), (0.70, 0.56, 0.33),
                (0.55, 0.25, 0.12), (0.62, 0.62, 0.62))
CLOTH_COLOURS = ((0.12, 0.30, 0.62), (0.70, 0.12, 0.14), (0.14, 0.48, 0.26), (0.85, 0.85, 0.85),
                 (0.10, 0.10, 0.12), (0.92, 0.55, 0.12), (0.45, 0.20, 0.55), (0.30, 0.30, 0.34),
                 (0.10, 0.55, 0.62), (0.80, 0.70, 0.25), (0.58, 0.40, 0.28), (0.85, 0.45, 0.60))


@dataclass(frozen=True)
class Room:
    """The static surroundings."""

    floor: str = "planks"
    floor_colour: tuple[float, float, float] = (0.62, 0.45, 0.30)
    wall: str = "paint"
    wall_colour: tuple[float, float, float] = (0.80, 0.78, 0.72)
    wall_distance: float = 2.0  # metres behind the scene centre, along the camera's view
    wall_yaw: float = 0.0  # degrees the wall is turned from facing the camera
    decor_seed: int = 0
    #: exercise mats: (centre x, centre z, length, width, yaw deg, sRGB colour)
    mats: tuple[tuple[float, float, float, float, float, tuple[float, float, float]], ...] = field(
        default_factory=tuple)

    def __post_init__(self) -> None:
        if self.floor not in FLOORS or self.wall not in WALLS:
            raise ValueError(f"Room: floor must be one of {FLOORS} and wall one of {WALLS}")

    def to_json(self) -> dict:
        return asdict(self)


def _hash(*ints: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random 0..1 per integer lattice point."""
    acc = np.zeros(np.broadcast(*ints).shape, np.uint64)
    with np.errstate(over="ignore"):
        for k, a in enumerate(ints):
            acc = acc * np.uint64(0x9E3779B1) + (np.asarray(a).astype(np.int64) + 1000003 * (k + 1)).astype(
                np.uint64)
            acc ^= acc >> np.uint64(15)
            acc *= np.uint64(0x85EBCA77)
            acc ^= acc >> np.uint64(13)
    return (acc % np.uint64(1 << 24)).astype(float) / float(1 << 24)


def _noise(a: np.ndarray, b: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Smooth value noise 0..1 at world coordinates ``a, b`` with feature size ``scale``."""
    fa, fb = a / scale, b / scale
    ia, ib = np.floor(fa), np.floor(fb)
    ta, tb = fa - ia, fb - ib
    ta, tb = ta * ta * (3 - 2 * ta), tb * tb * (3 - 2 * tb)
    s = np.full(ia.shape, seed)
    h00, h10 = _hash(ia, ib, s), _hash(ia + 1, ib, s)
    h01, h11 = _hash(ia, ib + 1, s), _hash(ia + 1, ib + 1, s)
    return (h00 * (1 - ta) + h10 * ta) * (1 - tb) + (h01 * (1 - ta) + h11 * ta) * tb


def _floor_albedo(room: Room, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    base = np.asarray(room.floor_colour)
    seed = room.decor_seed
    if room.floor == "planks":
        w, length = 0.14 + 0.06 * _hash(np.array(seed), np.array(1)), 1.3
        row = np.floor(b / w)
        off = _hash(row, np.full_like(row, seed)) * length
        col = np.floor((a + off) / length)
        tone = 0.85 + 0.25 * _hash(row, col, np.full_like(row, seed + 7))
        grain = 1 + 0.08 * np.sin(a * 23 + 6 * _noise(a, b * 8, 0.3, seed))
        seam = ((b / w) % 1 < 0.045) | (((a + off) / length) % 1 < 0.006)
        k = tone * grain * np.where(seam, 0.45, 1.0)
    elif room.floor == "tiles":
        size = 0.3 + 0.3 * _hash(np.array(seed), np.array(2))
        ga, gb = (a / size) % 1, (b / size) % 1
        grout = (ga < 0.025) | (gb < 0.025)
        k = (0.9 + 0.18 * _hash(np.floor(a / size), np.floor(b / size), np.full_like(a, seed))) * \
            (1 + 0.06 * _noise(a, b, 0.07, seed))
        k = np.where(grout, 0.6, k)
    elif room.floor == "carpet":
        k = 0.85 + 0.25 * _noise(a, b, 0.02, seed) + 0.15 * _noise(a, b, 0.4, seed + 1)
    else:  # rubber gym floor with speckles
        k = 0.9 + 0.1 * _noise(a, b, 0.5, seed)
        k = np.where(_hash(np.floor(a / 0.01), np.floor(b / 0.01), np.full_like(a, seed)) > 0.95, 1.5, k)
    return lin(np.clip(base[None, :] * k[:, None], 0, 1))


def _wall_albedo(room: Room, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    base = np.asarray(room.wall_colour)
    seed = room.decor_seed
    if room.wall == "brick":
        bh, bw = 0.075, 0.24
        row = np.floor(y / bh)
        off = (row % 2) * bw / 2
        mortar = ((y / bh) % 1 < 0.12) | (((a + off) / bw) % 1 < 0.05)
        k = 0.8 + 0.35 * _hash(row, np.floor((a + off) / bw), np.full_like(a, seed))
        k = np.where(mortar, 1.25, k)
    elif room.wall == "panels":
        k = 0.92 + 0.06 * _noise(a, y, 0.5, seed)
        k = np.where(((a / 0.6) % 1 < 0.012), 0.7, k)
    else:
        k = 0.94 + 0.06 * _noise(a, y, 0.25, seed) + 0.03 * _noise(a, y, 0.02, seed + 3)
    col = np.clip(base[None, :] * k[:, None], 0, 1)
    rng = np.random.default_rng(seed)
    for _ in range(int(rng.integers(1, 4))):  # posters, a window or a door
        kind = rng.choice(["poster", "window", "door"], p=[0.6, 0.25, 0.15])
        cx = rng.uniform(-3.0, 3.0)
        if kind == "door":
            w, h, cy = 0.9, 2.05, 1.025
        elif kind == "window":
            w, h, cy = rng.uniform(0.8, 1.6), rng.uniform(0.9, 1.4), 1.55
        else:
            w, h, cy = rng.uniform(0.3, 0.9), rng.uniform(0.4, 1.0), rng.uniform(1.3, 1.8)
        inside = (np.abs(a - cx) < w / 2) & (np.abs(y - cy) < h / 2)
        frame = inside & ~((np.abs(a - cx) < w / 2 - 0.04) & (np.abs(y - cy) < h / 2 - 0.04))
        fill = rng.uniform(0.1, 0.95, 3) if kind == "poster" else (
            np.array([0.75, 0.85, 0.95]) if kind == "window" else rng.uniform(0.3, 0.9) * np.array([1, 0.85, 0.7]))
        col[inside] = fill
        col[frame] = (0.95, 0.95, 0.95) if kind == "window" else (0.2, 0.15, 0.1)
    col[y < 0.1] = (0.93, 0.92, 0.9) if room.wall != "panels" else (0.4, 0.3, 0.22)
    return lin(col)


def render_room(cam: Camera, rays: np.ndarray, room: Room, light: Light, centre: np.ndarray) -> Background:
    """Render the room once for a fixed camera."""
    H, W = cam.height, cam.width
    pos = cam.position
    d = rays.reshape(-1, 3)
    fwd = cam.rot[2] * np.array([1, 0, 1])
    fwd /= np.linalg.norm(fwd)
    yaw = np.radians(room.wall_yaw)
    nw = -(fwd * np.cos(yaw) + np.cross([0.0, 1.0, 0.0], fwd) * np.sin(yaw))  # wall normal, towards camera
    along = np.cross([0.0, 1.0, 0.0], nw)
    wall_p = np.asarray(centre, float) * np.array([1, 0, 1]) - nw * room.wall_distance
    ceiling = 2.7
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[:, 1] < -1e-6, -pos[1] / d[:, 1], np.inf)
        t_ceil = np.where(d[:, 1] > 1e-6, (ceiling - pos[1]) / d[:, 1], np.inf)
        dn = d @ nw
        t_wall = np.where(dn < -1e-6, ((wall_p - pos) @ nw) / dn, np.inf)
    t = np.minimum(np.minimum(t_floor, t_ceil), t_wall)
    t = np.where(np.isfinite(t), t, 50.0)
    world = pos + t[:, None] * d
    albedo = np.zeros_like(world)
    normal = np.zeros_like(world)
    is_floor = t == t_floor
    is_wall = (t == t_wall) & ~is_floor
    is_ceil = ~is_floor & ~is_wall
    fa, fb = world[is_floor] @ along, world[is_floor] @ nw
    albedo[is_floor] = _floor_albedo(room, fa, fb)
    for mx, mz, ml, mw, myaw, mcol in room.mats:
        c, s = np.cos(np.radians(myaw)), np.sin(np.radians(myaw))
        rel = world[is_floor][:, [0, 2]] - np.array([mx, mz])
        u, v = rel @ np.array([s, c]), rel @ np.array([c, -s])
        on = (np.abs(u) < ml / 2) & (np.abs(v) < mw / 2)
        rim = on & ((np.abs(u) > ml / 2 - 0.02) | (np.abs(v) > mw / 2 - 0.02))
        sub = albedo[is_floor]
        sub[on] = lin(mcol) * (1 + 0.05 * _noise(u[on], v[on], 0.05, 5))[:, None]
        sub[rim] = lin(np.asarray(mcol) * 0.7)
        albedo[is_floor] = sub
    normal[is_floor] = (0, 1, 0)
    albedo[is_wall] = _wall_albedo(room, world[is_wall] @ along, world[is_wall][:, 1])
    normal[is_wall] = nw
    albedo[is_ceil] = lin((0.93, 0.93, 0.92))
    normal[is_ceil] = (0, -1, 0)
    L, su_axis, sv_axis = light_basis(light)
    ndl = np.clip(normal @ L, 0, None)
    sky = np.where(is_floor, 0.8, np.where(is_wall, 0.9, 0.7))
    ambient = albedo * light.ambient[None, :] * sky[:, None]
    direct = albedo * light.color[None, :] * ndl[:, None]
    return Background(
        depth=np.where(is_ceil & ~np.isfinite(t_ceil), np.inf, t).reshape(H, W),
        ambient=ambient.reshape(H, W, 3), direct=direct.reshape(H, W, 3), world=world.reshape(H, W, 3),
        su=(world @ su_axis).reshape(H, W), sv=(world @ sv_axis).reshape(H, W))


def make_light(azimuth_deg: float, elevation_deg: float, strength: float = 1.0, warmth: float = 0.0,
               ambient: float = 0.45) -> Light:
    """A directional light from ``azimuth`` (0 = from +z) and ``elevation`` above the horizon."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    direction = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    tint = np.array([1 + 0.12 * warmth, 1.0, 1 - 0.12 * warmth])
    return Light(direction, 1.5 * strength * tint, ambient * np.array([0.95, 0.98, 1.05]))


def random_appearance(rng: np.random.Generator) -> Appearance:
    """A random person's colours and clothes."""
    def pick(seq):
        return seq[int(rng.integers(len(seq)))]
    shirt = pick(CLOTH_COLOURS)
    bottom = pick([c for c in CLOTH_COLOURS if c != shirt])
    return Appearance(
        skin=pick(SKIN_TONES), hair=pick(HAIR_COLOURS),
        hair_style=pick(("bald", "short", "short", "long", "ponytail", "bun")),
        eyes=pick(((0.25, 0.16, 0.10), (0.15, 0.30, 0.45), (0.2, 0.35, 0.2), (0.12, 0.08, 0.05))),
        shirt=shirt, shirt_style=pick(("tshirt", "tshirt", "long", "tank")),
        bottom=bottom, bottom_style=pick(("shorts", "pants", "pants")),
        shoes=pick(((0.9, 0.9, 0.92), (0.1, 0.1, 0.1), (0.8, 0.2, 0.2), (0.2, 0.3, 0.6), (0.6, 0.6, 0.6))),
        socks=pick(((0.95, 0.95, 0.95), (0.1, 0.1, 0.1), (0.6, 0.6, 0.62))),
    )


def random_room(rng: np.random.Generator) -> Room:
    """A random room (floor, wall, decor)."""
    floor = FLOORS[int(rng.integers(len(FLOORS)))]
    floor_col = {"planks": rng.choice([(0.62, 0.45, 0.30), (0.75, 0.6, 0.42), (0.45, 0.3, 0.2), (0.8, 0.72, 0.6)]),
                 "tiles": rng.choice([(0.85, 0.84, 0.8), (0.55, 0.55, 0.55), (0.7, 0.62, 0.5)]),
                 "carpet": rng.choice([(0.45, 0.45, 0.5), (0.6, 0.5, 0.4), (0.35, 0.4, 0.55)]),
                 "rubber": rng.choice([(0.18, 0.18, 0.2), (0.3, 0.3, 0.32)])}[floor]
    wall = WALLS[int(rng.integers(len(WALLS)))]
    wall_col = {"paint": rng.choice([(0.85, 0.83, 0.78), (0.7, 0.78, 0.82), (0.82, 0.75, 0.6), (0.6, 0.7, 0.6),
                                     (0.9, 0.9, 0.9)]),
                "brick": rng.choice([(0.62, 0.32, 0.24), (0.7, 0.65, 0.6)]),
                "panels": rng.choice([(0.72, 0.58, 0.42), (0.85, 0.85, 0.82)])}[wall]
    return Room(floor=floor, floor_colour=tuple(float(c) for c in floor_col), wall=wall,
                wall_colour=tuple(float(c) for c in wall_col), wall_distance=float(rng.uniform(1.2, 3.0)),
                wall_yaw=float(rng.uniform(-25, 25)), decor_seed=int(rng.integers(1 << 30)))
