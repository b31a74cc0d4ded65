// The settings schema is package.json's `contributes.configuration`; this module reads it once
// and sorts its keys into the three kinds the server and the client use:
//   restart: sent in `initializationOptions` (flat); a change restarts the server;
//   live:    served to `workspace/configuration` for the section `codeDiffusion`;
//   client:  read by the extension only (`pythonPath`); a change restarts the server.
import * as vscode from "vscode";
import packageJson from "../../package.json";
import { SECTION } from "./constants";

export type SettingKind = "restart" | "live" | "client";

interface PropertySchema {
  tags?: string[];
}

const properties = packageJson.contributes.configuration.properties as Record<string, PropertySchema>;

/** Every setting key (without the `codeDiffusion.` prefix) and its kind, in schema order. */
export const SETTING_KINDS: ReadonlyMap<string, SettingKind> = new Map(
  Object.entries(properties).map(([name, schema]) => [name.slice(SECTION.length + 1), kindOf(schema)]),
);

function kindOf(schema: PropertySchema): SettingKind {
  if (schema.tags?.includes("restart")) {
    return "restart";
  }
  return schema.tags?.includes("client") ? "client" : "live";
}

function keysOf(kind: SettingKind): string[] {
  return [...SETTING_KINDS].filter(([, k]) => k === kind).map(([key]) => key);
}

export const RESTART_KEYS = keysOf("restart");
export const LIVE_KEYS = keysOf("live");

function read(keys: readonly string[], scope?: vscode.ConfigurationScope): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return Object.fromEntries(keys.map((key) => [key, config.get(key)]));
}

/** The restart-only settings, as the flat `initializationOptions` object. */
export function initializationOptions(scope?: vscode.ConfigurationScope): Record<string, unknown> {
  return read(RESTART_KEYS, scope);
}

/** The live settings: the answer to `workspace/configuration` for the section `codeDiffusion`. */
export function liveSettings(scope?: vscode.ConfigurationScope): Record<string, unknown> {
  return read(LIVE_KEYS, scope);
}

/** The value of one live setting for a `codeDiffusion.<key>` section, or undefined if not live. */
export function liveSetting(section: string, scope?: vscode.ConfigurationScope): unknown {
  const key = section.slice(SECTION.length + 1);
  return LIVE_KEYS.includes(key) ? vscode.workspace.getConfiguration(SECTION, scope).get(key) : undefined;
}

/** Whether a settings change needs a new server process: a restart-only key or `pythonPath`. */
export function needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
  return [...SETTING_KINDS]
    .filter(([, kind]) => kind !== "live")
    .some(([key]) => event.affectsConfiguration(`${SECTION}.${key}`));
}

export function getPythonPathSetting(scope?: vscode.ConfigurationScope): string {
  return vscode.workspace.getConfiguration(SECTION, scope).get<string>("pythonPath", "").trim();
}

/** Flip `codeDiffusion.enableInlineCompletion` where it is set (workspace or user). */
export async function toggleInlineCompletion(): Promise<boolean> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const enabled = !config.get<boolean>("enableInlineCompletion", true);
  const inspected = config.inspect<boolean>("enableInlineCompletion");
  const target =
    inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update("enableInlineCompletion", enabled, target);
  return enabled;
}
