"""formcheck vision stages: capture, pose, tracking, geometry, filters, drawing.

Only :mod:`vision.pose` imports mediapipe.
"""
