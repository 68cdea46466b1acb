"""The Streamlit app's pages and their helpers (see ``app.py`` and ``docs/app.md``).

The pages hold no domain logic: they drive :class:`exercises.pipeline.Pipeline`,
:class:`exercises.session.LiveSession` and the engine's reports, and show what those return.
"""
