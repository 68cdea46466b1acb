"""Vectorised ray caster for the synthetic figures.

Body parts are *affine capsules*: a unit-radius capsule along local ``y`` from ``0``
to ``length``, mapped to the world by a rotation and per-axis radii, so one exact
ray test covers elliptic torsos, ellipsoids (length 0) and, with ``kind=BOX``,
boxes; limbs are *round cones* (two spheres and the cone tangent to both), so they
taper smoothly from hip to knee or elbow to wrist.  Rays are cast only through each part's screen bounding
box; a z-buffer keeps the nearest hit.  Shadows come from a shadow map rendered
with the same ray test from the light's direction (orthographic), filtered for
soft edges.  The static room is rendered once per clip (:mod:`synth.scene`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from synth.camera import Camera

CAPSULE, BOX, CONE = 0, 1, 2

#: ``paint(local_points (K, 3), row) -> linear RGB (K, 3)``: a surface pattern in the part's local frame
Painter = Callable[[np.ndarray, dict], np.ndarray]


@dataclass
class Parts:
    """A growing list of primitives; :meth:`arrays` packs them for the ray caster."""

    rows: list[dict] = field(default_factory=list)

    def capsule(self, a: np.ndarray, b: np.ndarray, radius: float | tuple[float, float], color: np.ndarray,
                *, zhint: np.ndarray | None = None, color2: np.ndarray | None = None, split: float = 2.0,
                paint: Painter | None = None, owner: int = 0, cap: float | None = None) -> None:
        """A capsule from ``a`` to ``b``.

        ``radius`` may be ``(rx, rz)``: elliptic across the axis, with local ``z`` as near
        ``zhint`` as possible; ``cap`` is then the half-length of the end caps.  ``color2``
        is used beyond the fraction ``split`` of the way from ``a`` to ``b``.
        """
        a, b = np.asarray(a, float), np.asarray(b, float)
        axis = b - a
        n = float(np.linalg.norm(axis))
        y = axis / n if n > 1e-9 else np.array([0.0, 1.0, 0.0])
        ref = np.asarray(zhint, float) if zhint is not None else (
            np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0]))
        z = ref - np.dot(ref, y) * y
        if np.linalg.norm(z) < 1e-9:
            z = np.cross(y, [1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.cross(y, [0.0, 0.0, 1.0])
        z /= np.linalg.norm(z)
        x = np.cross(y, z)
        rx, rz = (radius, radius) if np.isscalar(radius) else radius
        ry = float(cap if cap is not None else min(rx, rz))
        self._add(a, np.column_stack([x, y, z]), (rx, ry, rz), n / ry, CAPSULE, color, color2, split, paint,
                  owner)

    def ellipsoid(self, center: np.ndarray, frame: np.ndarray, radii: tuple[float, float, float],
                  color: np.ndarray, *, paint: Painter | None = None, owner: int = 0,
                  color2: np.ndarray | None = None) -> None:
        """An ellipsoid with semi-axes ``radii`` along the columns of ``frame``."""
        self._add(np.asarray(center, float), frame, radii, 0.0, CAPSULE, color, color2, 2.0, paint, owner)

    def box(self, center: np.ndarray, frame: np.ndarray, half: tuple[float, float, float], color: np.ndarray,
            *, paint: Painter | None = None, owner: int = -1) -> None:
        """An oriented box with half-extents ``half`` along the columns of ``frame``."""
        self._add(np.asarray(center, float), frame, half, 0.0, BOX, color, None, 2.0, paint, owner)

    def cone(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float, color: np.ndarray, *,
             color2: np.ndarray | None = None, split: float = 2.0, owner: int = 0) -> None:
        """A round cone from a sphere of radius ``ra`` at ``a`` to one of radius ``rb`` at ``b``."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        if ra - rb >= np.linalg.norm(b - a):  # one sphere contains the other
            b = a + unit_or_up(b - a) * (abs(ra - rb) + 1e-4)
        self.rows.append(dict(
            kind=CONE, pa=a, pb=b, ra=float(ra), rb=float(rb), length=1.0, origin=a, m=np.eye(3),
            color=np.asarray(color, float), color2=np.asarray(color if color2 is None else color2, float),
            split=split, paint=None, owner=owner, center=(a + b) / 2,
            bound=float(np.linalg.norm(b - a)) / 2 + max(ra, rb)))

    def _add(self, origin: np.ndarray, frame: np.ndarray, radii: tuple[float, float, float], length: float,
             kind: int, color: np.ndarray, color2: np.ndarray | None, split: float,
             paint: Painter | None, owner: int) -> None:
        r = np.asarray(radii, float)
        half_len = length * r[1] / 2
        center = origin + frame[:, 1] * half_len if kind == CAPSULE else origin
        bound = half_len + float(r.max()) if kind == CAPSULE else float(np.linalg.norm(r))
        self.rows.append(dict(
            origin=origin, m=(frame / r).T, length=length, kind=kind, color=np.asarray(color, float),
            color2=np.asarray(color if color2 is None else color2, float), split=split, paint=paint,
            owner=owner, center=center, bound=bound, frame=frame, radii=r))

    def extend(self, other: Parts) -> None:
        """Append another part list."""
        self.rows.extend(other.rows)


def unit_or_up(v: np.ndarray) -> np.ndarray:
    """``v`` normalised, or +y if it is zero."""
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else np.array([0.0, 1.0, 0.0])


def _round_cone(row: dict, o_world: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ray/round-cone hits (after Inigo Quilez's ``iRoundedCone``); ``d`` must be unit length."""
    pa, pb, ra, rb = row["pa"], row["pb"], row["ra"], row["rb"]
    ba = pb - pa
    oa = o_world - pa
    ob = o_world - pb
    if oa.ndim == 1:
        oa, ob = np.broadcast_to(oa, d.shape), np.broadcast_to(ob, d.shape)
    rr = ra - rb
    m0 = float(ba @ ba)
    m1, m2 = oa @ ba, d @ ba
    m3 = np.einsum("ij,ij->i", d, oa)
    m5 = np.einsum("ij,ij->i", oa, oa)
    m6 = np.einsum("ij,ij->i", ob, d)
    m7 = np.einsum("ij,ij->i", ob, ob)
    d2 = m0 - rr * rr
    k2 = d2 - m2 * m2
    k1 = d2 * m3 - m1 * m2 + m2 * rr * ra
    k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
    inf = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        h = k1 * k1 - k0 * k2
        tb = (-np.sqrt(h) - k1) / k2
        y = m1 - ra * rr + tb * m2
        body = (h >= 0) & (y > 0) & (y < d2) & (tb > 0)
        t = np.where(body, tb, inf)
        h1, h2 = m3 * m3 - m5 + ra * ra, m6 * m6 - m7 + rb * rb
        t1, t2 = -m3 - np.sqrt(h1), -m6 - np.sqrt(h2)
        use1 = ~body & (h1 > 0) & (t1 > 0) & (h >= 0)
        t = np.where(use1, t1, t)
        use2 = ~body & (h2 > 0) & (t2 > 0) & (t2 < t) & (h >= 0)
        t = np.where(use2, t2, t)
    hit = np.isfinite(t)
    tt = np.where(hit, t, 0.0)[:, None]
    p = oa + tt * d  # relative to pa
    n = np.where(body[:, None], d2 * p - ba[None, :] * y[:, None], 0.0)
    n = np.where(use1[:, None], p / ra, n)
    n = np.where(use2[:, None], (ob + tt * d) / rb, n)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    axial = np.clip((p @ ba) / m0, -0.5, 1.5)
    local = np.stack([np.zeros_like(axial), axial, np.zeros_like(axial)], axis=1)
    return t, local, n


def intersect(row: dict, o_world: np.ndarray, d_world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ray hits with one primitive: ``t`` (inf = miss), local hit point and world normal, each ``(K, …)``.

    ``o_world`` is ``(3,)`` or ``(K, 3)``; ``d_world`` is ``(K, 3)`` of unit rays.
    """
    if row["kind"] == CONE:
        return _round_cone(row, o_world, d_world)
    kind, m, length, origin = row["kind"], row["m"], row["length"], row["origin"]
    o = (o_world - origin) @ m.T
    d = d_world @ m.T
    if o.ndim == 1:
        o = np.broadcast_to(o, d.shape)
    ox, oy, oz = o[:, 0], o[:, 1], o[:, 2]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    inf = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == BOX:
            t1, t2 = (-1 - o) / d, (1 - o) / d
            tn, tf = np.minimum(t1, t2), np.maximum(t1, t2)
            tmin, tmax = np.nanmax(tn, axis=1), np.nanmin(tf, axis=1)
            t = np.where((tmax >= tmin) & (tmin > 0), tmin, inf)
            p = o + t[:, None] * d
            ax = np.argmax(tn, axis=1)
            n_loc = np.zeros_like(p)
            n_loc[np.arange(len(p)), ax] = np.sign(p[np.arange(len(p)), ax])
        else:
            dd = np.einsum("ij,ij->i", d, d)
            a = dx * dx + dz * dz
            b = ox * dx + oz * dz
            c = ox * ox + oz * oz - 1
            h = b * b - a * c
            tc = (-b - np.sqrt(h)) / a
            yc = oy + tc * dy
            t = np.where((h >= 0) & (a > 1e-12) & (yc >= 0) & (yc <= length) & (tc > 0), tc, inf)
            cap_y = np.zeros_like(t)
            for yc0 in (0.0, length) if length > 0 else (0.0,):
                ocy = oy - yc0
                bb = ox * dx + ocy * dy + oz * dz
                cc = ox * ox + ocy * ocy + oz * oz - 1
                hh = bb * bb - dd * cc
                ts = (-bb - np.sqrt(hh)) / dd
                better = (hh >= 0) & (ts > 0) & (ts < t)
                t = np.where(better, ts, t)
                cap_y = np.where(better, yc0, cap_y)
            p = o + np.where(np.isfinite(t), t, 0)[:, None] * d
            axial = np.clip(p[:, 1], 0, length)
            on_cyl = np.isfinite(t) & (cap_y == 0) & (p[:, 1] > 0) & (p[:, 1] < length)
            n_loc = p - np.stack([np.zeros_like(t), np.where(on_cyl, axial, cap_y), np.zeros_like(t)], 1)
    n_world = n_loc @ m
    n_world /= np.maximum(np.linalg.norm(n_world, axis=1, keepdims=True), 1e-12)
    return t, p, n_world


def screen_box(cam: Camera, center: np.ndarray, bound: float) -> tuple[int, int, int, int] | None:
    """Pixel rectangle ``(x0, y0, x1, y1)`` (exclusive end) covering a bounding sphere, or None."""
    c = cam.to_camera(center)
    if c[2] - bound < 0.05:
        return None
    r = bound * cam.fx / (c[2] - bound) + 1
    u, v = cam.fx * c[0] / c[2] + cam.cx, cam.fy * c[1] / c[2] + cam.cy
    x0, x1 = max(0, int(u - r)), min(cam.width, int(u + r) + 1)
    y0, y1 = max(0, int(v - r)), min(cam.height, int(v + r) + 1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


@dataclass(frozen=True)
class Light:
    """One directional light (``direction`` points towards the light) plus ambient fill."""

    direction: np.ndarray
    color: np.ndarray  # linear RGB intensity of the direct light
    ambient: np.ndarray  # linear RGB of the sky fill


def light_basis(light: Light) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit light direction and two axes across it (the shadow map's grid axes)."""
    L = np.asarray(light.direction, float) / np.linalg.norm(light.direction)
    u = np.cross(L, [0.0, 0.0, 1.0]) if abs(L[2]) < 0.9 else np.cross(L, [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    return L, u, np.cross(L, u)


class ShadowMap:
    """Depth of the nearest occluder seen from the light, on an orthographic grid."""

    def __init__(self, parts: Parts, light: Light, texel: float = 0.02) -> None:
        self.L, self.u, self.v = light_basis(light)
        self.texel = texel
        u, L = self.u, self.L
        rows = parts.rows
        if not rows:
            self.depth = np.full((1, 1), np.inf)
            self.u0 = self.v0 = 0.0
            return
        cs = np.array([r["center"] for r in rows])
        bs = np.array([r["bound"] for r in rows])
        cu, cv = cs @ self.u, cs @ self.v
        self.u0, self.v0 = float((cu - bs).min()) - texel, float((cv - bs).min()) - texel
        nu = int(np.ceil(((cu + bs).max() - self.u0) / texel)) + 2
        nv = int(np.ceil(((cv + bs).max() - self.v0) / texel)) + 2
        self.far = float((cs @ L + bs).max()) + 1.0
        depth = np.full((nv, nu), np.inf)
        for r, c_u, c_v, b in zip(rows, cu, cv, bs, strict=True):
            i0, i1 = int((c_u - b - self.u0) / texel), min(nu, int(np.ceil((c_u + b - self.u0) / texel)) + 1)
            j0, j1 = int((c_v - b - self.v0) / texel), min(nv, int(np.ceil((c_v + b - self.v0) / texel)) + 1)
            ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1))
            orig = (self.u0 + (ii.ravel() + 0.5) * texel)[:, None] * u + \
                   (self.v0 + (jj.ravel() + 0.5) * texel)[:, None] * self.v + self.far * L
            t, _, _ = intersect(r, orig, np.broadcast_to(-L, orig.shape))
            blk = depth[j0:j1, i0:i1]
            depth[j0:j1, i0:i1] = np.minimum(blk, t.reshape(blk.shape))
        self.depth = depth

    def lit(self, pts: np.ndarray, bias: float = 0.03, soft: int = 2) -> np.ndarray:
        """Fraction 0..1 of light reaching each world point ``(K, 3)`` (percentage-closer filtered)."""
        if not np.isfinite(self.depth).any():
            return np.ones(len(pts))
        fu = (pts @ self.u - self.u0) / self.texel - 0.5
        fv = (pts @ self.v - self.v0) / self.texel - 0.5
        tp = self.far - pts @ self.L
        nv, nu = self.depth.shape
        acc = np.zeros(len(pts))
        offs = range(-soft, soft + 1)
        for dj in offs:
            for di in offs:
                i = np.rint(fu + di * 0.75).astype(int)
                j = np.rint(fv + dj * 0.75).astype(int)
                ok = (i >= 0) & (i < nu) & (j >= 0) & (j < nv)
                occ = np.full(len(pts), np.inf)
                occ[ok] = self.depth[j[ok], i[ok]]
                acc += occ > tp - bias
        return acc / len(offs) ** 2

    def covers(self, su: np.ndarray, sv: np.ndarray) -> np.ndarray:
        """Mask of points (given by their light-grid coordinates) that the map covers."""
        nv, nu = self.depth.shape
        return (su >= self.u0) & (su < self.u0 + nu * self.texel) & (sv >= self.v0) & (sv < self.v0 + nv * self.texel)


@dataclass(frozen=True)
class Background:
    """The static room as seen by the camera, split into ambient and direct light (linear RGB)."""

    depth: np.ndarray  # (H, W) ray length to the floor/wall (inf = nothing)
    ambient: np.ndarray  # (H, W, 3)
    direct: np.ndarray  # (H, W, 3) light that shadows remove
    world: np.ndarray  # (H, W, 3) world point of each pixel
    su: np.ndarray  # (H, W) light-grid coordinates of each pixel's world point
    sv: np.ndarray


def render(cam: Camera, rays: np.ndarray, parts: Parts, light: Light, bg: Background,
           texel: float = 0.02) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear RGB image ``(H, W, 3)``, the owner of each pixel (``-2`` = room, ``-1`` = prop) and ray depth."""
    H, W = cam.height, cam.width
    pos = cam.position
    zbuf = bg.depth.copy().reshape(-1)
    part_of = np.full(H * W, -1, np.int32)
    albedo = np.zeros((H * W, 3))
    normal = np.zeros((H * W, 3))
    flat_rays = rays.reshape(-1, 3)
    for k, r in enumerate(parts.rows):
        box = screen_box(cam, r["center"], r["bound"])
        if box is None:
            continue
        x0, y0, x1, y1 = box
        idx = (np.arange(y0, y1)[:, None] * W + np.arange(x0, x1)[None, :]).ravel()
        t, p, n = intersect(r, pos, flat_rays[idx])
        closer = t < zbuf[idx]
        if not closer.any():
            continue
        sel = idx[closer]
        zbuf[sel] = t[closer]
        part_of[sel] = k
        normal[sel] = n[closer]
        if r["paint"] is not None:
            albedo[sel] = r["paint"](p[closer], r)
        elif r["length"] > 0 and r["split"] < 1.5:
            beyond = (p[closer, 1] / r["length"]) > r["split"]
            albedo[sel] = np.where(beyond[:, None], r["color2"], r["color"])
        else:
            albedo[sel] = r["color"]
    shadow = ShadowMap(parts, light, texel)
    out = (bg.ambient + bg.direct).reshape(-1, 3).copy()
    room = np.flatnonzero((part_of < 0) & shadow.covers(bg.su, bg.sv).reshape(-1))
    if room.size:
        lit = shadow.lit(bg.world.reshape(-1, 3)[room], bias=0.01)
        out[room] = bg.ambient.reshape(-1, 3)[room] + bg.direct.reshape(-1, 3)[room] * lit[:, None]
    body = np.flatnonzero(part_of >= 0)
    owner = np.full(H * W, -2, np.int32)
    if body.size:
        n = normal[body]
        pts = pos + zbuf[body, None] * flat_rays[body]
        lit = shadow.lit(pts + n * 0.01, bias=0.04)
        ndl = np.clip(n @ shadow.L, 0, None)
        sky = 0.62 + 0.38 * n[:, 1]
        shade = light.ambient[None, :] * sky[:, None] + light.color[None, :] * (ndl * lit)[:, None]
        out[body] = albedo[body] * shade
        owner[body] = np.array([r["owner"] for r in parts.rows], np.int32)[part_of[body]]
    return out.reshape(H, W, 3), owner.reshape(H, W), zbuf.reshape(H, W)
