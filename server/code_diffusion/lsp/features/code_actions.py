"""``textDocument/codeAction`` lists the actions that apply, at once and without edits;
``codeAction/resolve`` computes the edit of the one the user picks.

A client that cannot resolve edits gets each action as its command instead, which computes
the edit and applies it with ``workspace/applyEdit``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from code_diffusion.engine import actions as plans
from code_diffusion.lsp.actions import ACTIONS, Target, compute_edit, parse_target
from code_diffusion.lsp.documents import snapshot
from code_diffusion.worker import WorkerState

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)


def register(ls: CodeDiffusionServer) -> None:
    options = types.CodeActionOptions(code_action_kinds=[a.kind for a in ACTIONS.values()],
                                      resolve_provider=True)
    ls.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)(code_action)
    ls.feature(types.CODE_ACTION_RESOLVE)(code_action_resolve)


def _can_resolve_edits(ls: CodeDiffusionServer) -> bool:
    document = ls.client_capabilities.text_document
    code_action_caps = document.code_action if document else None
    support = code_action_caps.resolve_support if code_action_caps else None
    return bool(support and "edit" in support.properties and code_action_caps.data_support)


def _wanted(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)


def code_action(ls: CodeDiffusionServer, params: types.CodeActionParams
                ) -> list[types.CodeAction]:
    snap = snapshot(ls, params.text_document.uri)
    if ls.worker.state is WorkerState.ERROR:
        return []  # nothing could compute the edit; the status says why
    start, end = snap.range_offsets(params.range)
    target = Target(snap.uri, params.range, snap.version).to_json()
    resolve = _can_resolve_edits(ls)
    found = []
    for name in plans.available_actions(snap.text, start, end, snap.language):
        action = ACTIONS[name]
        if not _wanted(action.kind, params.context.only):
            continue
        if resolve:
            found.append(types.CodeAction(title=action.title, kind=action.kind,
                                          data={**target, "action": name}))
        else:
            command = types.Command(title=action.title, command=action.command,
                                    arguments=[target])
            found.append(types.CodeAction(title=action.title, kind=action.kind, command=command))
    return found


async def code_action_resolve(ls: CodeDiffusionServer,
                              params: types.CodeAction) -> types.CodeAction:
    data = params.data
    name = data.get("action") if isinstance(data, Mapping) else None
    if name not in ACTIONS:
        raise JsonRpcInvalidParams(
            "codeAction/resolve: data must be the object textDocument/codeAction returned, "
            f"with action one of {', '.join(ACTIONS)}; got {data!r}")
    target = parse_target(data, "codeAction data")
    edit, reason = await compute_edit(ls, name, target)
    if edit is None:
        log.info("%s: no edit: %s", ACTIONS[name].title, reason)
    params.edit = edit
    return params
