// Build the language client: `<python> -m code_diffusion serve` over stdio, restart-only
// settings in initializationOptions, live settings through workspace/configuration.
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  RevealOutputChannelOn,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { DISPLAY_NAME, SECTION, SERVER_ARGS } from "./constants";
import { initializationOptions, liveSetting, liveSettings } from "./settings";

export function createClient(python: string, outputChannel: vscode.LogOutputChannel): LanguageClient {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const serverOptions: ServerOptions = {
    command: python,
    args: SERVER_ARGS,
    options: { cwd: folder?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: initializationOptions(),
    synchronize: { configurationSection: SECTION },
    middleware: {
      workspace: {
        // Answer `codeDiffusion` with the live keys only; restart-only keys went in
        // initializationOptions and `pythonPath` is the client's own.
        configuration: (params, token, next) => {
          const scoped = params.items.map((item) => (item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined));
          const handled = params.items.map((item, i) => {
            if (item.section === SECTION) {
              return liveSettings(scoped[i]);
            }
            return item.section?.startsWith(`${SECTION}.`) ? liveSetting(item.section, scoped[i]) : undefined;
          });
          if (handled.every((value) => value !== undefined)) {
            return handled;
          }
          return Promise.resolve(next(params, token)).then((answered) =>
            Array.isArray(answered) ? answered.map((value, i) => handled[i] ?? value) : answered,
          );
        },
        // Send the same live object on change; the server pulls again anyway.
        didChangeConfiguration: async () => {
          await client.sendNotification(DidChangeConfigurationNotification.type, {
            settings: { [SECTION]: liveSettings() },
          });
        },
      },
    },
  };
  const client = new LanguageClient(SECTION, DISPLAY_NAME, serverOptions, clientOptions);
  return client;
}
