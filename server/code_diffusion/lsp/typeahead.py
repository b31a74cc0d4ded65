"""Typing through a suggestion costs no model call.

When the user types the first characters of the ghost text they were shown, the rest of that
suggestion is still the model's answer for the new cursor position: the text after the cursor
is unchanged and the text before it only grew by what the suggestion predicted. The language
server remembers the last answer per document and request kind and serves the remainder of
every candidate the typed text agrees with, without a denoising pass.

Only the answer's anchor is kept, as hashes of the text before and after the cursor, so a large
document is not copied per request. An entry is used only while the text after the cursor is
the same and the text before it extends the anchor; otherwise (a character the suggestion did
not predict, an edit elsewhere, a candidate typed to its end) the model runs again.

Candidates that were held back from unasked ghost text (``inline.minChance``) are remembered as
such: typing serves only the shown ones, and a request the user makes (the key that asks for
ghost text) at the same place gets them all, as it would from the model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

LIMIT = 64
"""Entries kept (document × request kind); the oldest goes first."""


@dataclass(frozen=True)
class _Answer:
    start: int
    """Offset of the cursor the model answered for."""
    prefix: int
    """Hash of the text before that cursor."""
    suffix: int
    """Hash of the text after it."""
    suffix_length: int
    candidates: tuple[str, ...]
    shown: tuple[bool, ...]
    """Per candidate: it was shown (``False``: held back from unasked ghost text)."""


class TypeAhead:
    """The last answer per key; :meth:`recall` serves what typing left of it."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._answers: OrderedDict[Hashable, _Answer] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._answers)

    def remember(self, key: Hashable, text: str, offset: int, candidates: Sequence[str],
                 shown: Sequence[bool] | None = None) -> None:
        """Keep ``candidates``, the model's texts for the cursor at ``offset`` in ``text``, best
        first; ``shown`` says which were shown (default: all)."""
        flags = [True] * len(candidates) if shown is None else list(shown)
        if len(flags) != len(candidates):
            raise ValueError(f"{len(candidates)} candidates but {len(flags)} shown flags")
        kept = [(c, f) for c, f in zip(candidates, flags, strict=True) if c]
        if not kept:  # nothing to type through; an older answer may still be
            return
        self._answers[key] = _Answer(offset, hash(text[:offset]), hash(text[offset:]),
                                     len(text) - offset, tuple(c for c, _ in kept),
                                     tuple(f for _, f in kept))
        self._answers.move_to_end(key)
        while len(self._answers) > self.limit:
            self._answers.popitem(last=False)

    def recall(self, key: Hashable, text: str, offset: int, held_back: bool = False
               ) -> list[str] | None:
        """The rest of each remembered candidate the text typed since agrees with, best first
        (with ``held_back``, those held back too); ``None`` when the model has to run."""
        answer = self._answers.get(key)
        found = None if answer is None else _rest(answer, text, offset, held_back)
        if found:
            self.hits += 1
            self._answers.move_to_end(key)
            return found
        self.misses += 1
        return None

    def forget(self, uri: str) -> None:
        """Drop every entry of a document (closed)."""
        for key in [k for k in self._answers if _uri(k) == uri]:
            del self._answers[key]

    def clear(self) -> None:
        """Drop everything (settings changed, model restarted)."""
        self._answers.clear()


def _uri(key: Hashable) -> Hashable:
    return key[0] if isinstance(key, tuple) and key else key


def _rest(answer: _Answer, text: str, offset: int, held_back: bool) -> list[str]:
    if offset < answer.start or len(text) - offset != answer.suffix_length:
        return []
    typed = text[answer.start:offset]
    rest: list[str] = []
    for candidate, shown in zip(answer.candidates, answer.shown, strict=True):
        remainder = candidate[len(typed):]
        if not (shown or held_back):
            continue
        if candidate.startswith(typed) and remainder and remainder not in rest:
            rest.append(remainder)
    if rest and (hash(text[offset:]) != answer.suffix
                 or hash(text[:answer.start]) != answer.prefix):
        return []
    return rest
