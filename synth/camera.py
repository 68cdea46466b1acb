"""Pinhole camera: intrinsics, extrinsics, projection and per-pixel rays.

Conventions (same as OpenCV, and as ``Frame.xy`` from MediaPipe's normalised
output times the image size): camera ``x`` right, ``y`` down, ``z`` forward;
pixel coordinates are continuous with the top-left pixel covering ``[0, 1)``, so
the centre of pixel column ``i`` is at ``u = i + 0.5``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera; ``rot`` maps world to camera axes, ``p_cam = rot @ p_world + trans``."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    rot: np.ndarray
    trans: np.ndarray

    @classmethod
    def look_at(cls, position: np.ndarray, target: np.ndarray, width: int, height: int,
                vfov_deg: float) -> Camera:
        """A level camera (no roll) at ``position`` looking at ``target`` (world y up)."""
        pos = np.asarray(position, float)
        fwd = np.asarray(target, float) - pos
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        if np.linalg.norm(right) < 1e-6:
            raise ValueError("Camera.look_at: the camera cannot look straight up or down")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        rot = np.stack([right, down, fwd])
        f = 0.5 * height / np.tan(np.radians(vfov_deg) / 2)
        return cls(width, height, f, f, width / 2, height / 2, rot, -rot @ pos)

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return -self.rot.T @ self.trans

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` in camera coordinates."""
        return np.asarray(pts, float) @ self.rot.T + self.trans

    def project(self, pts: np.ndarray) -> np.ndarray:
        """Pixel coordinates ``(..., 2)`` of world points ``(..., 3)`` (NaN behind the camera)."""
        c = self.to_camera(pts)
        z = c[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(z > 1e-6, self.fx * c[..., 0] / z + self.cx, np.nan)
            v = np.where(z > 1e-6, self.fy * c[..., 1] / z + self.cy, np.nan)
        return np.stack([u, v], axis=-1)

    def rays(self) -> np.ndarray:
        """Unit world-space ray directions through every pixel centre, shape ``(H, W, 3)``."""
        u = (np.arange(self.width) + 0.5 - self.cx) / self.fx
        v = (np.arange(self.height) + 0.5 - self.cy) / self.fy
        d = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((1, 1))), axis=-1)
        d = d @ self.rot  # camera → world (rot is orthonormal)
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def to_json(self) -> dict:
        """Intrinsics and extrinsics for the ground-truth file."""
        return {
            "width": self.width, "height": self.height,
            "fx": round(self.fx, 4), "fy": round(self.fy, 4), "cx": self.cx, "cy": self.cy,
            "rot_world_to_cam": np.round(self.rot, 6).tolist(),
            "trans_world_to_cam": np.round(self.trans, 6).tolist(),
            "position": np.round(self.position, 5).tolist(),
            "pixel_convention": "top-left pixel covers [0,1): pixel centre i+0.5, like MediaPipe x*width",
            "axes": "world y up, floor y=0, metres; camera x right, y down, z forward",
        }
