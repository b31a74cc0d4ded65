"""Settings from ``initializationOptions`` and ``workspace/configuration``.

Live settings are pulled after ``initialized`` and again on ``didChangeConfiguration`` (or
taken from its ``settings`` when the client cannot be asked). Refused values are reported in
one ``window/showMessage`` per change and replaced by their defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from code_diffusion.lsp import config
from code_diffusion.lsp.features import workspace

if TYPE_CHECKING:
    from code_diffusion.lsp.server import CodeDiffusionServer

log = logging.getLogger(__name__)


def register(ls: CodeDiffusionServer) -> None:
    ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)


async def did_change_configuration(ls: CodeDiffusionServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    pushed = config.section_of(params.settings) if isinstance(params.settings, Mapping) else None
    await refresh(ls, pushed)


def remember_initialization_options(ls: CodeDiffusionServer, raw: dict[str, Any],
                                    errors: list[config.SettingError]) -> None:
    """Keep the options the editor sent at start; live keys there are the first values."""
    ls.initial_raw = raw
    ls.settings, live_errors = config.parse(config.Settings, raw)
    ls.pending_errors = [*errors, *live_errors]
    unknown = config.unknown_keys(raw)
    if unknown:
        log.warning("ignoring unknown initializationOptions: %s", ", ".join(unknown))


def _can_pull(ls: CodeDiffusionServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)


async def refresh(ls: CodeDiffusionServer, pushed: dict[str, Any] | None = None) -> None:
    """Re-read the live settings: pull them if the client allows, else use ``pushed``."""
    section: dict[str, Any] = {}
    if _can_pull(ls):
        item = types.ConfigurationItem(section=config.SECTION)
        answer = await ls.workspace_configuration_async(types.ConfigurationParams(items=[item]))
        section = dict(answer[0]) if answer and isinstance(answer[0], Mapping) else {}
    elif pushed is not None:
        section = pushed
    apply(ls, section)


def apply(ls: CodeDiffusionServer, section: dict[str, Any]) -> None:
    """Settle the settings from the initial options overlaid with ``section``."""
    merged = {**ls.initial_raw, **{k: v for k, v in section.items() if v is not None}}
    settings, errors = config.parse(config.Settings, merged)
    if settings != ls.settings:
        ls.typeahead.clear()  # answers made with other settings
    ls.settings = settings
    restart, restart_errors = config.parse(config.InitOptions, merged)
    if restart != ls.init_options:
        log.info("restart-only settings changed to %s; run codeDiffusion.restartModel to use "
                 "them", config.to_json(restart))
    ls.restart_options = restart
    unknown = config.unknown_keys(section)
    if unknown:
        log.warning("ignoring unknown settings: %s", ", ".join(f"{config.SECTION}.{k}"
                                                            for k in unknown))
    log.info("settings: %s", config.to_json(ls.settings))
    ls.workspace_files.configure(workspace.limits(settings))
    if settings.num_samples:
        log.info("%s.numSamples = %d sets the candidates of every request kind; it is "
                 "deprecated: set %s instead", config.SECTION, settings.num_samples,
                 ", ".join(f"{config.SECTION}.{kind}.numSamples" for kind in config.KINDS))
    _report(ls, [*ls.pending_errors, *restart_errors, *errors])
    ls.pending_errors = []


def _report(ls: CodeDiffusionServer, errors: list[config.SettingError]) -> None:
    """One message for all refused values, unless the same one was shown last time."""
    unique = list(dict.fromkeys(str(e) for e in errors))
    text = "; ".join(unique)
    if text and text != ls.shown_settings_message:
        log.warning("invalid settings: %s", text)
        ls.notify_user(f"Code Diffusion settings: {text}.", types.MessageType.Warning,
                       promised=True)
    ls.shown_settings_message = text
