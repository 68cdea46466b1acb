"""The app's own strings in German (default) and English, from ``app_pages/strings.toml``.

Each entry holds both languages side by side::

    [review]
    analyse = { de = "Analysieren", en = "Analyse" }

so a missing translation is visible in the file and caught by the tests. Exercise names,
corrections and setup guidance come from the engine's messages (:mod:`exercises.messages`).
"""

from __future__ import annotations

import logging
import tomllib
from functools import cache
from pathlib import Path

from exercises.messages import LANGUAGES, Messages

log = logging.getLogger(__name__)

STRINGS_FILE = Path(__file__).with_name("strings.toml")
DEFAULT_LANG = "de"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


class StringTableError(ValueError):
    """The string table is invalid (not TOML, an entry without both languages, ...)."""


@cache
def table() -> dict[str, dict[str, str]]:
    """``{dotted key: {lang: text}}`` for every entry of the string table."""
    try:
        data = tomllib.loads(STRINGS_FILE.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise StringTableError(f"{STRINGS_FILE.name}: not valid TOML: {e}") from None
    out: dict[str, dict[str, str]] = {}

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict) and set(v) == set(LANGUAGES) and all(isinstance(x, str) for x in v.values()):
                out[key] = v
            elif isinstance(v, dict) and not (set(v) & set(LANGUAGES)):
                walk(v, key)
            else:
                raise StringTableError(f"{STRINGS_FILE.name}: key {key!r}: needs exactly {', '.join(LANGUAGES)}")

    walk(data, "")
    return out


def text(key: str, lang: str, **params: object) -> str:
    """The string for ``key`` in ``lang`` with ``{name}`` placeholders filled.

    An unknown key is logged and shown as ``⟦key⟧`` so it stands out on the page (and in tests).
    """
    entry = table().get(key)
    if entry is None:
        log.warning("no app string %r", key)
        return f"⟦{key}⟧"
    raw = entry.get(lang) or entry[DEFAULT_LANG]
    try:
        return raw.format(**params) if params else raw
    except (KeyError, IndexError, ValueError):
        log.warning("bad parameters %r for app string %r", params, key)
        return raw


@cache
def messages(lang: str) -> Messages:
    """The engine's messages (exercise names, corrections) in ``lang``."""
    return Messages(lang)
