// The status bar item, driven by `codeDiffusion/status` and by the client's own state.
// Clicking it opens the logs.
import * as vscode from "vscode";
import { Commands, DISPLAY_NAME } from "./constants";
import type { StatusParams } from "./protocol";

const ICONS: Record<StatusParams["state"], string> = {
  loading: "$(loading~spin)",
  ready: "$(sparkle)",
  busy: "$(sync~spin)",
  error: "$(error)",
};

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private last: StatusParams | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem("codeDiffusion.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = DISPLAY_NAME;
    this.item.command = Commands.showLogs;
    this.setStarting();
    this.item.show();
  }

  /** Show a `codeDiffusion/status` notification. */
  update(status: StatusParams): void {
    this.last = status;
    const latency = status.lastLatencyMs == null ? "" : ` ${Math.round(status.lastLatencyMs)} ms`;
    const progress = status.state === "loading" && status.progress != null ? ` ${Math.round(status.progress)}%` : "";
    const detail = status.state === "ready" || status.state === "busy" ? latency : progress;
    this.item.text = `${ICONS[status.state] ?? ""} CD${detail}`;
    this.item.backgroundColor =
      status.state === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.tooltip = this.tooltip(status);
    this.item.accessibilityInformation = { label: `${DISPLAY_NAME}: ${status.state}${detail}` };
  }

  /** The server process is being started; no status from it yet. */
  setStarting(): void {
    this.last = undefined;
    this.item.text = "$(loading~spin) CD";
    this.item.backgroundColor = undefined;
    this.item.tooltip = `${DISPLAY_NAME}: starting the server. Click for the logs.`;
    this.item.accessibilityInformation = { label: `${DISPLAY_NAME}: starting` };
  }

  /** The server is not running (any more): say why. */
  setStopped(reason: string, isError = false): void {
    this.last = undefined;
    this.item.text = `${isError ? "$(error)" : "$(circle-slash)"} CD`;
    this.item.backgroundColor = isError ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.tooltip = `${DISPLAY_NAME}: ${reason}. Click for the logs.`;
    this.item.accessibilityInformation = { label: `${DISPLAY_NAME}: ${reason}` };
  }

  get state(): StatusParams["state"] | undefined {
    return this.last?.state;
  }

  private tooltip(status: StatusParams): vscode.MarkdownString {
    const rows: [string, string | number | null | undefined][] = [
      ["state", status.state],
      ["model", status.model],
      ["device", status.device],
      ["precision", status.precisionChoice ?? status.precision],
      ["last latency", status.lastLatencyMs == null ? null : `${status.lastLatencyMs.toFixed(0)} ms`],
      ["progress", status.state === "loading" && status.progress != null ? `${status.progress}%` : null],
    ];
    const md = new vscode.MarkdownString(`**${DISPLAY_NAME}**\n\n`);
    md.appendMarkdown(
      rows
        .filter(([, value]) => value != null)
        .map(([name, value]) => `- ${name}: \`${String(value)}\``)
        .join("\n"),
    );
    if (status.message) {
      md.appendMarkdown("\n\n");
      md.appendText(status.message);
    }
    md.appendMarkdown("\n\nClick for the logs.");
    return md;
  }

  dispose(): void {
    this.item.dispose();
  }
}
