"""The four code actions on the LSP side: titles, kinds, commands, arguments and edits.

Where the hole goes is decided by :mod:`code_diffusion.engine.actions`; this module turns a
document range into that plan, runs it on the worker and turns the best candidate into a
``WorkspaceEdit`` tied to the document version it was computed for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from code_diffusion.engine import actions as plans
from code_diffusion.lsp.documents import Snapshot, snapshot, text_edit
from code_diffusion.lsp.generation import generate
from code_diffusion.lsp.progress import ActionProgress
from code_diffusion.lsp.server import shared_converter

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Action:
    """How one action shows up in the editor."""

    name: str
    title: str
    kind: str
    command: str


ACTIONS = {a.name: a for a in (
    Action(plans.GENERATE, "Generate from comment", "refactor.rewrite.codeDiffusion.generate",
           "codeDiffusion.generateFromComment"),
    Action(plans.FILL_BODY, "Fill in body", "refactor.rewrite.codeDiffusion.fillBody",
           "codeDiffusion.fillBody"),
    Action(plans.REGENERATE, "Regenerate selection", "refactor.rewrite.codeDiffusion.regenerate",
           "codeDiffusion.regenerateSelection"),
    Action(plans.REPAIR, "Repair syntax error", "quickfix.codeDiffusion.repair",
           "codeDiffusion.repairSyntax"),
)}


@dataclass(frozen=True)
class Target:
    """Where an action runs: ``{uri, range, version?}`` from a command or a code action."""

    uri: str
    range: types.Range
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"uri": self.uri, "range": shared_converter().unstructure(self.range),
                "version": self.version}


def parse_target(value: Any, what: str) -> Target:
    """A :class:`Target` from JSON, or ``InvalidParams`` saying which part is wrong."""
    if not isinstance(value, Mapping):
        raise JsonRpcInvalidParams(
            f"{what} must be an object {{uri, range, version?}}, got {_json_type(value)}")
    uri = value.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams(f"{what}.uri must be a document URI string, got {uri!r}")
    try:
        rng = shared_converter().structure(value.get("range"), types.Range)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        detail = "; ".join(cattrs.transform_error(exc)) if isinstance(
            exc, cattrs.BaseValidationError) else str(exc)
        raise JsonRpcInvalidParams(
            f"{what}.range must be an LSP range {{start: {{line, character}}, end: {{...}}}} "
            f"with non-negative integers: {detail}") from exc
    version = value.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise JsonRpcInvalidParams(f"{what}.version must be an integer, got {version!r}")
    return Target(uri, rng, version)


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def changed_reason(expected: int | None, actual: int | None) -> str:
    if actual is None:
        return "the document was closed; run the action again"
    return (f"the document changed (version {expected} is now {actual}); run the action again")


async def compute_edit(ls: CodeDiffusionServer, name: str, target: Target
                       ) -> tuple[types.WorkspaceEdit | None, str | None]:
    """The edit for action ``name`` at ``target``, or ``(None, reason)``."""
    action = ACTIONS[name]
    snap = snapshot(ls, target.uri)
    if target.version is not None and snap.version != target.version:
        return None, changed_reason(target.version, snap.version)
    start, end = snap.range_offsets(target.range)
    plan = plans.plan_action(name, snap.text, start, end, snap.language)
    if plan is None:
        return None, f"{action.title} does not apply here"
    label = f"{name} {snap.uri} v{snap.version}"
    async with ActionProgress(ls, f"Code Diffusion: {action.title}") as progress:
        candidates, reason = await generate(ls, snap, plan.start, plan.end, lane="action",
                                            label=label, specification=plan.specification,
                                            hole=plan.kind, text=plan.text,
                                            on_step=progress.step)
    if not candidates:
        return None, reason
    edit_start, edit_end, new_text = plan.edit(candidates[0].text)
    log.info("%s: edit of %d character(s) ready", label, len(new_text))
    return workspace_edit(ls, snap, text_edit(snap, edit_start, edit_end, new_text)), None


def workspace_edit(ls: CodeDiffusionServer, snap: Snapshot,
                   edit: types.TextEdit) -> types.WorkspaceEdit:
    """One text edit, as versioned ``documentChanges`` when the client takes them."""
    workspace = ls.client_capabilities.workspace
    versioned = bool(workspace and workspace.workspace_edit
                     and workspace.workspace_edit.document_changes)
    if versioned and snap.version is not None:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=snap.uri,
                                                                 version=snap.version)
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(text_document=document, edits=[edit])])
    return types.WorkspaceEdit(changes={snap.uri: [edit]})
