"""Synthetic exercise videos with ground truth: a kinematic body model, a vectorised ray caster,
rooms and cameras with variety, and per-frame truth (joints, angles, phase, rep, faults).

Entry points: :func:`synth.generate.random_clip`, :func:`synth.generate.write_clip` and the
``formcheck synth`` command (:mod:`synth.cli`).  No third-party assets are used: every
pixel is computed from this package's own code.
"""
