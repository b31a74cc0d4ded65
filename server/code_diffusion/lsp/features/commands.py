"""``workspace/executeCommand``: the four actions by name, ``restartModel`` and ``status``.

An action command computes its edit and applies it with ``workspace/applyEdit``, only if the
document is still at the version the edit was computed for. It answers
``{"applied": bool, "reason": str | null}``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from code_diffusion.engine import actions as plans
from code_diffusion.lsp import status as status_module
from code_diffusion.lsp.actions import ACTIONS, Target, changed_reason, compute_edit, parse_target
from code_diffusion.lsp.documents import current_version
from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)
RESTART = "codeDiffusion.restartModel"
STATUS = "codeDiffusion.status"


def register(ls: CodeDiffusionServer) -> None:
    ls.command(ACTIONS[plans.GENERATE].command)(generate_from_comment)
    ls.command(ACTIONS[plans.FILL_BODY].command)(fill_body)
    ls.command(ACTIONS[plans.REGENERATE].command)(regenerate_selection)
    ls.command(ACTIONS[plans.REPAIR].command)(repair_syntax)
    ls.command(RESTART)(restart_model)
    ls.command(STATUS)(status)


async def generate_from_comment(ls: CodeDiffusionServer, *args: Any) -> dict[str, Any]:
    return await run_action(ls, plans.GENERATE, args)


async def fill_body(ls: CodeDiffusionServer, *args: Any) -> dict[str, Any]:
    return await run_action(ls, plans.FILL_BODY, args)


async def regenerate_selection(ls: CodeDiffusionServer, *args: Any) -> dict[str, Any]:
    return await run_action(ls, plans.REGENERATE, args)


async def repair_syntax(ls: CodeDiffusionServer, *args: Any) -> dict[str, Any]:
    return await run_action(ls, plans.REPAIR, args)


def _follow_cancellation(ls: CodeDiffusionServer) -> None:
    """pygls runs command handlers inside its own executeCommand generator, so
    ``$/cancelRequest`` cancels pygls's outer future and not this task: link the two."""
    msg_id = ls.protocol.msg_id
    outer = ls.protocol._request_futures.get(msg_id) if msg_id is not None else None
    task = asyncio.current_task()
    if outer is not None and task is not None:
        loop = asyncio.get_running_loop()
        outer.add_done_callback(
            lambda f: f.cancelled() and loop.call_soon_threadsafe(task.cancel))


async def run_action(ls: CodeDiffusionServer, name: str, args: tuple[Any, ...]
                     ) -> dict[str, Any]:
    _follow_cancellation(ls)
    action = ACTIONS[name]
    if len(args) != 1:
        raise JsonRpcInvalidParams(
            f"{action.command} takes one argument {{uri, range, version?}}, got {len(args)}")
    target = parse_target(args[0], f"{action.command} argument")
    if target.version is None:
        target = Target(target.uri, target.range, current_version(ls, target.uri))
    edit, reason = await compute_edit(ls, name, target)
    if edit is None:
        return {"applied": False, "reason": reason}
    now = current_version(ls, target.uri)
    if now != target.version:
        return {"applied": False, "reason": changed_reason(target.version, now)}
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label=action.title))
    if result.applied:
        return {"applied": True, "reason": None}
    return {"applied": False,
            "reason": result.failure_reason or "the editor did not apply the edit"}


def restart_model(ls: CodeDiffusionServer, *args: Any) -> None:
    """Reload the model with the restart-only settings as they are now."""
    if ls.restart_options is not None:
        ls.init_options = ls.restart_options
        ls.log_handler.set_level(ls.init_options.log_level)
    log.info("restarting the model")
    ls.typeahead.clear()
    ls.worker.start(ls.load_options())


def status(ls: CodeDiffusionServer, *args: Any) -> dict[str, Any]:
    """The status notification's object, and how many completion requests were answered from
    an earlier answer the user typed into (``typedAhead``) or ran the model (``modelRuns``)."""
    return {**status_module.payload(ls.worker.status, ls.worker.options,
                                    ls.workspace_files.status()),
            "completions": {"typedAhead": ls.typeahead.hits, "modelRuns": ls.typeahead.misses}}
