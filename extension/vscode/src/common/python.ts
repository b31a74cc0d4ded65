// Which Python runs the server: the `codeDiffusion.pythonPath` setting, else the Python
// extension's active interpreter, else `python3`. And the check that it can import the server.
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { FALLBACK_PYTHON, PYTHON_EXTENSION_ID, SECTION, SERVER_MODULE } from "./constants";
import { logError, logInfo } from "./logging";
import { getPythonPathSetting } from "./settings";

export interface Interpreter {
  command: string;
  source: "setting" | "python extension" | "default";
}

/** The slice of the Python extension's public API used here. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      environment: { id: string; path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (!extension) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch (error) {
    logError("The Python extension failed to activate", error);
    return undefined;
  }
}

function expandPath(value: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  let expanded = value
    .replace(/\$\{workspaceFolder\}/g, folder)
    .replace(/\$\{userHome\}/g, os.homedir())
    .replace(/^~(?=$|\/)/, os.homedir());
  if (expanded.includes(path.sep) && !path.isAbsolute(expanded) && folder) {
    expanded = path.join(folder, expanded);
  }
  return expanded;
}

export async function resolveInterpreter(resource?: vscode.Uri): Promise<Interpreter> {
  const setting = getPythonPathSetting(resource);
  if (setting) {
    return { command: expandPath(setting), source: "setting" };
  }
  const environments = (await pythonExtensionApi())?.environments;
  if (environments) {
    try {
      const active = environments.getActiveEnvironmentPath(resource);
      const resolved = await environments.resolveEnvironment(active);
      if (resolved?.executable.uri) {
        return { command: resolved.executable.uri.fsPath, source: "python extension" };
      }
    } catch (error) {
      logError("Could not get the Python extension's interpreter", error);
    }
  }
  return { command: FALLBACK_PYTHON, source: "default" };
}

/** Fires when the Python extension's active interpreter changes (never, without it). */
export async function onDidChangeInterpreter(listener: () => void): Promise<vscode.Disposable> {
  const environments = (await pythonExtensionApi())?.environments;
  return environments?.onDidChangeActiveEnvironmentPath(listener) ?? new vscode.Disposable(() => undefined);
}

export type ImportCheck = { ok: true; version: string } | { ok: false; detail: string };

/** Run `<python> -c "import code_diffusion"` and report the version or why it failed. */
export function checkServerImport(python: string): Promise<ImportCheck> {
  const script = `import ${SERVER_MODULE}; print(${SERVER_MODULE}.__version__)`;
  return new Promise((resolve) => {
    execFile(python, ["-c", script], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ ok: true, version: stdout.trim() });
      } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        resolve({ ok: false, detail: `no interpreter at '${python}'` });
      } else {
        const lines = stderr.trim().split("\n");
        resolve({ ok: false, detail: lines[lines.length - 1] || error.message });
      }
    });
  });
}

/**
 * Let the user pick another interpreter: the Python extension's picker if it is installed and
 * `pythonPath` is empty, else a file dialog that writes `codeDiffusion.pythonPath`.
 */
export async function selectInterpreter(): Promise<void> {
  if (!getPythonPathSetting() && vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) {
    await vscode.commands.executeCommand("python.setInterpreter");
    return;
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: "Use this Python",
    title: "Python interpreter with code_diffusion installed",
  });
  if (picked?.[0]) {
    logInfo(`pythonPath set to ${picked[0].fsPath}`);
    await vscode.workspace
      .getConfiguration(SECTION)
      .update("pythonPath", picked[0].fsPath, vscode.ConfigurationTarget.Global);
  }
}
