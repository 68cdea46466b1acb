"""User-facing messages in German (UI default) and English, loaded from ``exercises/messages/*.toml``.

Keys are dotted, ``<table>.<name>`` (``"fault.knee_valgus"``, ``"setup.too_far"``).  Both
languages must define the same keys; a missing key in one language is an error at load time.
"""

from __future__ import annotations

import logging
import tomllib
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

MESSAGES_DIR = Path(__file__).with_name("messages")
LANGUAGES: tuple[str, ...] = ("de", "en")
DEFAULT_LANG = "de"


class MessageError(ValueError):
    """A message file is invalid or a language / key is unknown."""


def _flatten(data: dict, prefix: str, out: dict[str, str], source: str) -> None:
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            _flatten(v, key, out, source)
        elif isinstance(v, str):
            out[key] = v
        else:
            raise MessageError(f"{source}: key {key!r}: must be a string")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All messages of one language as ``{dotted key: text}``."""
    if lang not in LANGUAGES:
        raise MessageError(f"unknown language {lang!r} (available: {', '.join(LANGUAGES)})")
    path = MESSAGES_DIR / f"{lang}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise MessageError(f"{path.name}: not valid TOML: {e}") from None
    out: dict[str, str] = {}
    _flatten(data, "", out, path.name)
    return out


@cache
def _all_keys() -> frozenset[str]:
    sets = [set(catalogue(lang)) for lang in LANGUAGES]
    for lang, keys in zip(LANGUAGES, sets, strict=True):
        missing = set.union(*sets) - keys
        if missing:
            raise MessageError(f"{lang}.toml: missing keys {', '.join(sorted(missing))}")
    return frozenset(sets[0])


def known_key(key: str) -> bool:
    """Whether every language defines ``key``."""
    return key in _all_keys()


class Messages:
    """Message lookup for one language: ``Messages("de").text("fault.too_shallow")``."""

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        self.lang = lang
        self._cat = catalogue(lang)

    def text(self, key: str, **params: object) -> str:
        """The message for ``key`` with ``{name}`` placeholders filled; the key itself if unknown."""
        raw = self._cat.get(key)
        if raw is None:
            log.warning("no %s message for %r", self.lang, key)
            return key
        try:
            return raw.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("bad parameters %r for %s message %r", params, self.lang, key)
            return raw

    def fault(self, code: str) -> str:
        """Short name of a fault (for "to check X, film from the side")."""
        return self._cat.get(f"fault_name.{code}", code.replace("_", " "))

    def exercise(self, ex_id: str) -> str:
        """Display name of an exercise."""
        return self._cat.get(f"exercise.{ex_id}", ex_id)
