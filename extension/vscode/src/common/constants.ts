// Names shared across the extension. The server-side names live in protocol.ts.

/** The settings section, and the prefix of every setting and command of this extension. */
export const SECTION = "codeDiffusion";

/** Display name: output channel, status bar, messages. */
export const DISPLAY_NAME = "Code Diffusion";

/** The Python import name of the server and the arguments that start it over stdio. */
export const SERVER_MODULE = "code_diffusion";
export const SERVER_ARGS = ["-m", SERVER_MODULE, "serve"];

/** The interpreter used when neither the setting nor the Python extension names one. */
export const FALLBACK_PYTHON = "python3";

/** The Python extension, whose active interpreter is used when `pythonPath` is empty. */
export const PYTHON_EXTENSION_ID = "ms-python.python";

/** How long to wait after a settings change before restarting the server. */
export const RESTART_DEBOUNCE_MS = 1000;

/** Client-side commands (contributed in package.json). */
export const Commands = {
  restartServer: "codeDiffusion.restartServer",
  showLogs: "codeDiffusion.showLogs",
  toggleInlineCompletion: "codeDiffusion.toggleInlineCompletion",
  generateFromComment: "codeDiffusion.editor.generateFromComment",
  fillBody: "codeDiffusion.editor.fillBody",
  regenerateSelection: "codeDiffusion.editor.regenerateSelection",
  repairSyntax: "codeDiffusion.editor.repairSyntax",
} as const;
