"""``textDocument/inlineCompletion`` (ghost text) and ``textDocument/completion`` (menu items).

Both fill an insertion hole at the cursor; while the user types what the last answer
predicted, the rest of it is served without the model (:mod:`code_diffusion.lsp.typeahead`).
Ghost text that appears unasked, as the user types (trigger kind ``Automatic``), shows only
candidates whose estimated chance of being right reaches ``inline.minChance``
(``engine/chance.py``); ghost text the user asks for (``Invoked``: VS Code's "Trigger Inline
Suggestion", Neovim's ``<M-\\>``) and the menu show them all.
When the rest of the line is only closing brackets or quotes (the editor auto-closed them), the
edit's range runs to the end of the line and the generator's candidates carry those closers
once (``fill(closers=True)``; the closers and both rules are the engine's language table's).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from code_diffusion.engine.languages import closers_end, with_closers, without_closers
from code_diffusion.lsp.documents import Snapshot, snapshot
from code_diffusion.lsp.generation import generate

if TYPE_CHECKING:
    from code_diffusion.engine.types import Candidate
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
LABEL_WIDTH = 60


def register(ls: CodeDiffusionServer) -> None:
    ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION,
               types.InlineCompletionOptions())(inline_completion)
    ls.feature(types.TEXT_DOCUMENT_COMPLETION,
               types.CompletionOptions(resolve_provider=False))(completion)


def _shown(candidate: Candidate, min_chance: float | None) -> bool:
    """Whether a candidate is worth showing: always without ``min_chance``; else when its
    estimated chance of being right reaches it, or it has no estimate."""
    return min_chance is None or candidate.chance is None or candidate.chance >= min_chance


async def _candidates(ls: CodeDiffusionServer, uri: str, position: types.Position, lane: str,
                      min_chance: float | None = None
                      ) -> tuple[Snapshot, types.Range, str, list[str], list[str | None]]:
    """The snapshot, the edit's range, the auto-closed tail, the candidates' texts and where
    each came from (``None`` for the rest of an earlier answer being typed into). With
    ``min_chance``, the candidates under it are held back: remembered as such, so typing
    serves only the shown ones and a request without ``min_chance`` gets them all."""
    snap = snapshot(ls, uri)
    offset = snap.offset(position)
    end = closers_end(snap.text, offset)
    label = f"{lane} {uri} v{snap.version} at {position.line}:{position.character}"
    tail = snap.text[offset:end]
    rests = ls.typeahead.recall((uri, lane), snap.text, offset, held_back=min_chance is None)
    if rests is not None:
        # typed-into answers are kept without the closers (typing the candidate to its end
        # leaves nothing to serve); the edit's range covers them, so they are carried again
        texts = [with_closers(rest, tail) for rest in rests]
        origins: list[str | None] = [None] * len(texts)
        ls.worker.supersede((uri, lane))
        log.debug("%s: %d candidate(s) typed into, no model call", label, len(texts))
    else:
        generated, _ = await generate(ls, snap, offset, lane=lane, label=label, closers=True,
                                      debounce=ls.settings.debounce_ms / 1000)
        shown = [_shown(c, min_chance) for c in generated]
        candidates = [c for c, show in zip(generated, shown, strict=True) if show]
        if len(candidates) < len(generated):
            log.debug("%s: %d candidate(s) held back under chance %g: %s", label,
                      len(generated) - len(candidates), min_chance,
                      ", ".join(f"{c.chance:.2f}"
                                for c, show in zip(generated, shown, strict=True) if not show))
        texts = [c.text for c in candidates]
        origins = [c.provenance() for c in candidates]
        ls.typeahead.remember((uri, lane), snap.text, offset,
                              [without_closers(c.text, tail) for c in generated], shown)
    rng = types.Range(start=position, end=snap.position(end))
    return snap, rng, tail, texts, origins


async def inline_completion(ls: CodeDiffusionServer, params: types.InlineCompletionParams
                            ) -> types.InlineCompletionList:
    if not ls.settings.enable_inline_completion:
        return types.InlineCompletionList(items=[])
    asked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    _, rng, _, texts, _ = await _candidates(ls, params.text_document.uri, params.position,
                                            "inlineCompletion",
                                            None if asked else ls.settings.inline__min_chance)
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=text, range=rng)
        for text in texts])


def label(text: str) -> str:
    """The menu label: the candidate's first non-empty line, shortened."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else text.strip()
    more = len(lines) > 1 or len(first) > LABEL_WIDTH
    return first[:LABEL_WIDTH] + ("…" if more else "")


def detail(rank: int, origin: str | None) -> str:
    """The menu item's detail: the candidate's rank and where it came from (a copied line's
    place and the names it changed, or the model's confidence)."""
    return f"code-diffusion {rank + 1}: {origin}" if origin else f"code-diffusion {rank + 1}"


async def completion(ls: CodeDiffusionServer, params: types.CompletionParams
                     ) -> types.CompletionList:
    snap, rng, tail, texts, origins = await _candidates(ls, params.text_document.uri,
                                                        params.position, "completion")
    fence = snap.language or ""
    shown = [without_closers(text, tail) for text in texts]
    items = [
        types.CompletionItem(
            label=label(shown[rank]), kind=types.CompletionItemKind.Snippet,
            detail=detail(rank, origins[rank]),
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                              value=f"```{fence}\n{shown[rank]}\n```"),
            sort_text=f"{rank:03d}",
            insert_text_format=types.InsertTextFormat.PlainText,
            text_edit=types.TextEdit(range=rng, new_text=text))
        for rank, text in enumerate(texts)]
    return types.CompletionList(is_incomplete=True, items=items)
