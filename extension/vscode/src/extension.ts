// Code Diffusion for VS Code: start the code-diffusion language server from the user's Python,
// show its status, and give its code actions commands of their own.
import * as vscode from "vscode";
import { ExecuteCommandRequest, State, type LanguageClient } from "vscode-languageclient/node";
import { Commands, DISPLAY_NAME, RESTART_DEBOUNCE_MS, SERVER_MODULE } from "./common/constants";
import { createLogChannel, errorText, logError, logInfo, logWarning, showLogs } from "./common/logging";
import {
  ServerCommands,
  StatusNotification,
  type ActionArguments,
  type ActionCommand,
  type ActionResult,
} from "./common/protocol";
import { checkServerImport, onDidChangeInterpreter, resolveInterpreter, selectInterpreter } from "./common/python";
import { createClient } from "./common/server";
import { getPythonPathSetting, needsRestart, toggleInlineCompletion } from "./common/settings";
import { StatusItem } from "./common/status";

let client: LanguageClient | undefined;
let status: StatusItem | undefined;
let restarting: Promise<void> = Promise.resolve();
let restartTimer: NodeJS.Timeout | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const channel = createLogChannel();
  status = new StatusItem();
  context.subscriptions.push(channel, status);

  const actions: [string, ActionCommand, string][] = [
    [Commands.generateFromComment, ServerCommands.generateFromComment, "Generate from comment"],
    [Commands.fillBody, ServerCommands.fillBody, "Fill in body"],
    [Commands.regenerateSelection, ServerCommands.regenerateSelection, "Regenerate selection"],
    [Commands.repairSyntax, ServerCommands.repairSyntax, "Repair syntax error"],
  ];
  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.restartServer, () => restart(channel)),
    vscode.commands.registerCommand(Commands.showLogs, showLogs),
    vscode.commands.registerCommand(Commands.toggleInlineCompletion, async () => {
      const enabled = await toggleInlineCompletion();
      vscode.window.setStatusBarMessage(`${DISPLAY_NAME}: inline suggestions ${enabled ? "on" : "off"}`, 3000);
    }),
    ...actions.map(([id, command, title]) => vscode.commands.registerCommand(id, () => runAction(command, title))),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (needsRestart(event)) {
        scheduleRestart(channel, "settings changed");
      }
    }),
    await onDidChangeInterpreter(() => {
      if (!getPythonPathSetting()) {
        scheduleRestart(channel, "the Python interpreter changed");
      }
    }),
  );
  await restart(channel);
}

export async function deactivate(): Promise<void> {
  clearTimeout(restartTimer);
  await stopClient();
}

function scheduleRestart(channel: vscode.LogOutputChannel, reason: string): void {
  clearTimeout(restartTimer);
  restartTimer = setTimeout(() => {
    logInfo(`Restarting the server: ${reason}`);
    void restart(channel);
  }, RESTART_DEBOUNCE_MS);
}

/** Stop the running server (if any) and start a new one; restarts never overlap. */
function restart(channel: vscode.LogOutputChannel): Promise<void> {
  restarting = restarting.then(() => startClient(channel)).catch((error) => logError("Restart failed", error));
  return restarting;
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop(5000);
    } catch (error) {
      logWarning(`Stopping the server: ${errorText(error)}`);
    }
  }
}

async function startClient(channel: vscode.LogOutputChannel): Promise<void> {
  await stopClient();
  status?.setStarting();
  const python = await resolveInterpreter(vscode.window.activeTextEditor?.document.uri);
  logInfo(`Python (${python.source}): ${python.command}`);
  const check = await checkServerImport(python.command);
  if (!check.ok) {
    status?.setStopped(`cannot import ${SERVER_MODULE}`, true);
    logError(`'${python.command}' cannot import ${SERVER_MODULE}: ${check.detail}`);
    void showImportError(python.command, check.detail);
    return;
  }
  logInfo(`${SERVER_MODULE} ${check.version}; starting ${python.command} -m ${SERVER_MODULE} serve`);
  const next = createClient(python.command, channel);
  next.onNotification(StatusNotification, (params) => status?.update(params));
  next.onDidChangeState(({ newState }) => {
    if (client !== next) {
      return;
    }
    if (newState === State.Starting) {
      status?.setStarting(); // also when the client restarts a crashed server
    } else if (newState === State.Stopped) {
      status?.setStopped("the server stopped", true);
    }
  });
  client = next;
  try {
    await next.start();
  } catch (error) {
    logError("The server failed to start", error);
    status?.setStopped("the server failed to start", true);
  }
}

async function showImportError(python: string, detail: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `${DISPLAY_NAME}: '${python}' cannot import ${SERVER_MODULE} (${detail}). ` +
      `Install the server into that interpreter (pip install code-diffusion) or select another one.`,
    "Select Interpreter",
    "Show Logs",
  );
  if (choice === "Select Interpreter") {
    await selectInterpreter();
  } else if (choice === "Show Logs") {
    showLogs();
  }
}

/** Run one of the server's action commands on the active editor's selection or cursor. */
async function runAction(command: ActionCommand, title: string): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client?.isRunning()) {
    void vscode.window.showWarningMessage(
      `${DISPLAY_NAME}: ${editor ? "the server is not running" : "no active editor"}.`,
    );
    return;
  }
  const running = client;
  const args: ActionArguments = {
    uri: running.code2ProtocolConverter.asUri(editor.document.uri),
    range: running.code2ProtocolConverter.asRange(editor.selection),
    version: editor.document.version,
  };
  try {
    const result: ActionResult | null = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `${DISPLAY_NAME}: ${title}` },
      () => running.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] }),
    );
    if (!result?.applied) {
      void vscode.window.showInformationMessage(`${title}: ${result?.reason ?? "nothing to change here"}.`);
    }
  } catch (error) {
    logError(`${title} failed`, error);
    void vscode.window.showErrorMessage(`${DISPLAY_NAME}: ${title} failed: ${errorText(error)}`);
  }
}
