// Drive code-server in Debian's chromium with playwright-core, the way a person would:
// open a Python file and type until ghost text from the code-diffusion server shows, accept it
// with Tab, then apply "Fill in body" from the light bulb (Ctrl+.) in another file.
// Prints one JSON object (what it saw) as its last line; tests/e2e/vscode asserts on it.
//
// Environment: CS_URL (workbench URL with ?folder=), CHROMIUM (browser binary), SHOTS (directory
// for screenshots), PROFILE (browser profile directory), TYPE_TEXT (what to type in ghost.py).
const { chromium } = require("playwright-core");
const path = require("path");

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const SHOTS = env("SHOTS");
const STATUS = '[aria-label^="Code Diffusion:"]';
// Ghost text: spans on the cursor line, and further lines in a view zone below it.
const GHOST = ".ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text";
const EDITOR = ".editor-group-container.active .monaco-editor";
const t0 = Date.now();
const result = { steps: [] };
const step = (name, extra = {}) => {
  const entry = { name, at: +((Date.now() - t0) / 1000).toFixed(1), ...extra };
  result.steps.push(entry);
  console.error(`[${entry.at}s] ${name}${Object.keys(extra).length ? " " + JSON.stringify(extra) : ""}`);
};
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

async function statusLabel(page) {
  const el = await page.$(STATUS);
  return el ? el.getAttribute("aria-label") : null;
}

async function waitForStatus(page, pattern, timeout) {
  await page.waitForFunction(
    ([selector, source]) => {
      const el = document.querySelector(selector);
      return el && new RegExp(source).test(el.getAttribute("aria-label") || "");
    },
    [STATUS, pattern.source],
    { timeout, polling: 250 },
  );
  return statusLabel(page);
}

/** The ghost text as shown: one string, its lines joined with newlines. */
async function ghostText(page) {
  return page.evaluate((editor) => {
    const text = (els) => [...els].map((e) => e.textContent.replace(/\u00a0/g, " ")).join("");
    const lines = [];
    for (const line of document.querySelectorAll(`${editor} .view-lines .view-line`)) {
      const parts = line.querySelectorAll(".ghost-text-decoration, .ghost-text-decoration-preview");
      if (parts.length) lines.push(text(parts));
    }
    for (const line of document.querySelectorAll(`${editor} .view-zones .view-line`)) {
      const parts = line.querySelectorAll(".ghost-text");
      if (parts.length) lines.push(text(parts));
    }
    return lines.join("\n");
  }, EDITOR);
}

async function openFile(page, name) {
  await page.keyboard.press("Control+P");
  await page.waitForSelector(".quick-input-widget input", { timeout: 20000 });
  await page.keyboard.type(name);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { timeout: 20000 });
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.tab.active[aria-label*="${name}"]`, { timeout: 20000 });
  await page.waitForSelector(`${EDITOR}.focused .view-lines`, { timeout: 20000 });
}

async function toasts(page) {
  return page.$$eval(".notifications-toasts .notification-list-item-message", (els) => els.map((e) => e.textContent));
}

/** Type, and if no ghost text shows within a while, type a space and delete it to ask again. */
async function typeUntilGhost(page, text) {
  await page.keyboard.type(text, { delay: 60 });
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      await page.waitForFunction(
        (selector) => [...document.querySelectorAll(selector)].some((e) => e.textContent.trim()),
        GHOST,
        { timeout: 20000, polling: 200 },
      );
      await page.waitForTimeout(1000); // let a newer answer replace an older one
      return ghostText(page);
    } catch {
      step("no ghost text yet; typing again", { attempt });
      await page.keyboard.type(" ");
      await page.keyboard.press("Backspace");
    }
  }
  return null;
}

async function ghostTextScenario(page) {
  await openFile(page, "ghost.py");
  step("ghost.py open");
  result.statusAtStart = await statusLabel(page);
  // Wait for the model to load; stop early when the server cannot start.
  const label = await waitForStatus(page, /: (ready|busy|error|cannot|the server)/, 180000).catch(() => null);
  step("server status", { label });
  if (!/: (ready|busy)/.test(label ?? "")) {
    throw new Error(`the server is not ready: ${label}`);
  }
  result.statusReady = label;
  await page.click(`${EDITOR} .view-lines`);
  await page.keyboard.press("Control+End");
  result.ghost = await typeUntilGhost(page, process.env.TYPE_TEXT || "def add(a, b):\n");
  step("ghost text", { ghost: result.ghost });
  await shot(page, "vscode-ghost-text");
  result.statusAfterGhost = await statusLabel(page);
  await page.keyboard.press("Tab");
  await page.waitForTimeout(500);
  await page.keyboard.press("Control+S");
  await page.waitForSelector('.tab.active:not(.dirty)[aria-label*="ghost.py"]', { timeout: 10000 }).catch(() => null);
  step("accepted with Tab and saved");
  await shot(page, "vscode-ghost-accepted");
}

async function fillBodyScenario(page) {
  await openFile(page, "fill.py");
  step("fill.py open");
  await page.click(`${EDITOR} .view-line:has-text("pass")`);
  await page.keyboard.press("End");
  await page.keyboard.press("Control+Period");
  await page.waitForSelector(".action-widget .monaco-list-row", { timeout: 30000 });
  result.codeActions = await page.$$eval(".action-widget .monaco-list-row", (rows) =>
    rows.map((r) => r.textContent.trim()),
  );
  step("light bulb menu", { actions: result.codeActions });
  await shot(page, "vscode-code-actions");
  await page.click('.action-widget .monaco-list-row.action:has-text("Fill in body")');
  step("chose Fill in body");
  // The edit is computed on codeAction/resolve; wait until `pass` is gone.
  result.filled = await page
    .waitForFunction(
      (editor) => {
        const view = document.querySelector(`${editor} .view-lines`);
        const lines = (view?.innerText ?? "").replace(/\u00a0/g, " ");
        return lines.includes("def add") && !/^\s*pass\s*$/m.test(lines);
      },
      EDITOR,
      { timeout: 120000, polling: 250 },
    )
    .then(() => true)
    .catch(() => false);
  step("body replaced", { filled: result.filled });
  await page.keyboard.press("Control+S");
  await page.waitForSelector('.tab.active:not(.dirty)[aria-label*="fill.py"]', { timeout: 10000 }).catch(() => null);
  step("saved fill.py");
  await shot(page, "vscode-fill-body");
}

(async () => {
  const context = await chromium.launchPersistentContext(env("PROFILE"), {
    executablePath: env("CHROMIUM"),
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  try {
    await page.goto(env("CS_URL"));
    await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
    step("workbench loaded");
    await ghostTextScenario(page);
    await fillBodyScenario(page);
  } catch (error) {
    result.error = String(error.stack || error);
    step("failed", { error: String(error.message || error).split("\n")[0] });
    await shot(page, "vscode-failure").catch(() => undefined);
  } finally {
    result.toasts = await toasts(page).catch(() => []);
    result.statusAtEnd = await statusLabel(page).catch(() => null);
    await context.close();
  }
  require("fs").writeFileSync(path.join(SHOTS, "result.json"), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result));
})();
