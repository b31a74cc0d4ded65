// The client's copy of the server contract in docs/protocol.md: custom notification, command
// names and their argument and result shapes.
import { NotificationType, type Range } from "vscode-languageclient";

/** Model states the server reports in `codeDiffusion/status`. */
export type ServerState = "loading" | "ready" | "busy" | "error";

/** Payload of `codeDiffusion/status`; every key but `state` may be null. */
export interface StatusParams {
  state: ServerState;
  model?: string | null;
  device?: string | null;
  precision?: string | null;
  /** The precision setting resolved, and why: `bfloat16 (auto: the CPU has avx512_bf16)`. */
  precisionChoice?: string | null;
  lastLatencyMs?: number | null;
  message?: string | null;
  /** 0–100 while loading. */
  progress?: number | null;
}

export const StatusNotification = new NotificationType<StatusParams>("codeDiffusion/status");

/** Server commands (`workspace/executeCommand`) that compute an edit and apply it. */
export const ServerCommands = {
  generateFromComment: "codeDiffusion.generateFromComment",
  fillBody: "codeDiffusion.fillBody",
  regenerateSelection: "codeDiffusion.regenerateSelection",
  repairSyntax: "codeDiffusion.repairSyntax",
  restartModel: "codeDiffusion.restartModel",
  status: "codeDiffusion.status",
} as const;

export type ActionCommand = Exclude<
  (typeof ServerCommands)[keyof typeof ServerCommands],
  typeof ServerCommands.restartModel | typeof ServerCommands.status
>;

/** The one argument of an action command. */
export interface ActionArguments {
  uri: string;
  range: Range;
  version?: number;
}

/** What an action command returns. */
export interface ActionResult {
  applied: boolean;
  reason: string | null;
}
