// One log output channel for the extension and the server's window/logMessage and stderr.
import * as vscode from "vscode";
import { DISPLAY_NAME } from "./constants";

let channel: vscode.LogOutputChannel | undefined;

export function createLogChannel(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel(DISPLAY_NAME, { log: true });
  return channel;
}

export function showLogs(): void {
  channel?.show(true);
}

export function logInfo(message: string): void {
  channel?.info(message);
}

export function logWarning(message: string): void {
  channel?.warn(message);
}

export function logError(message: string, error?: unknown): void {
  channel?.error(error === undefined ? message : `${message}: ${errorText(error)}`);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
