"""Screenshot of ghost text in a real Neovim, for the docs.

Runs nvim with the plugin from ``extension/nvim`` and the real server inside a tmux pane, types
at the given position, waits until the plugin reports a suggestion on screen, captures the pane
with its colours (``tmux capture-pane -e``) and draws exactly those cells into a PNG. Nothing is
added or retouched: the picture is what Neovim drew.

    python scripts/nvim_screenshot.py --file examples/stats.py --line 9 --col 5 \\
        --out docs/images/neovim-ghost-text.png

Needs ``nvim`` (0.11+) and ``tmux`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
PLUGIN_DIR = REPO / "extension" / "nvim"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

INIT_LUA = """
vim.opt.runtimepath:prepend({plugin!r})
vim.cmd('filetype plugin indent on')
vim.cmd('syntax on')
vim.o.termguicolors = true
vim.o.number = true
vim.o.swapfile = false
vim.o.laststatus = 2
vim.o.statusline = " %f %m%= %{{v:lua.require'code_diffusion'.statusline()}} %l:%c "
require('code_diffusion').setup({{ python = {python!r}, settings = vim.json.decode({settings!r}) }})
-- Tell the screenshot script when a suggestion is on screen.
local marker = {marker!r}
local timer = vim.uv.new_timer()
timer:start(100, 100, vim.schedule_wrap(function()
  if require('code_diffusion.ghost').visible() then
    vim.cmd('redraw')
    local f = io.open(marker, 'w')
    if f then f:write(require('code_diffusion.ghost').get().text) f:close() end
    timer:stop()
  end
end))
"""

# The 16 ANSI colours of the default xterm palette (used when nvim sends an indexed colour).
ANSI16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
    (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip
DEFAULT_FG, DEFAULT_BG = (224, 226, 234), (20, 22, 27)  # Neovim's dark default colours
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def xterm256(n: int) -> tuple[int, int, int]:
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
    v = 8 + 10 * (n - 232)
    return v, v, v


class Style:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: tuple[int, int, int] | None = None
        self.bg: tuple[int, int, int] | None = None
        self.bold = self.italic = self.reverse = self.underline = False

    def apply(self, params: str) -> None:
        codes = [int(c) if c else 0 for c in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif c in (38, 48):
                color = None
                if i + 1 < len(codes) and codes[i + 1] == 5 and i + 2 < len(codes):
                    color, i = xterm256(codes[i + 2]), i + 2
                elif i + 1 < len(codes) and codes[i + 1] == 2 and i + 4 < len(codes):
                    color, i = (codes[i + 2], codes[i + 3], codes[i + 4]), i + 4
                if c == 38:
                    self.fg = color
                else:
                    self.bg = color
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif 30 <= c <= 37 or 90 <= c <= 97:
                self.fg = ANSI16[c - 30 if c < 90 else c - 90 + 8]
            elif 40 <= c <= 47 or 100 <= c <= 107:
                self.bg = ANSI16[c - 40 if c < 100 else c - 100 + 8]
            i += 1

    def colors(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        return (bg, fg) if self.reverse else (fg, bg)


def render(
    ansi: str, cols: int, rows: int, out: Path, cursor: tuple[int, int] | None, size: int = 16
) -> None:
    """Draw the captured cells (text and SGR colours), and the cursor as a bar, into a PNG."""
    fonts = {
        (False, False): ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono.ttf"), size),
        (True, False): ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono-Bold.ttf"), size),
        (False, True): ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono-Oblique.ttf"), size),
        (True, True): ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono-BoldOblique.ttf"), size),
    }
    cell_w = round(fonts[(False, False)].getlength("M"))
    cell_h = round(size * 1.35)
    pad = 12
    img = Image.new("RGB", (cols * cell_w + 2 * pad, rows * cell_h + 2 * pad), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    style = Style()
    for y, line in enumerate(ansi.split("\n")[:rows]):
        x = 0
        pos = 0
        for match in [*SGR.finditer(line), None]:
            end = match.start() if match else len(line)
            for ch in line[pos:end]:
                fg, bg = style.colors()
                left, top = pad + x * cell_w, pad + y * cell_h
                draw.rectangle([left, top, left + cell_w, top + cell_h], fill=bg)
                if ch != " ":
                    font = fonts[(style.bold, style.italic)]
                    draw.text((left, top + (cell_h - size) // 2 - 1), ch, font=font, fill=fg)
                if style.underline:
                    draw.line([left, top + cell_h - 2, left + cell_w, top + cell_h - 2], fill=fg)
                x += 1
            if match:
                style.apply(match.group(1))
                pos = match.end()
        # The rest of the row keeps the background of the last style (tmux trims spaces).
        _, bg = style.colors()
        if x < cols:
            left, top = pad + x * cell_w, pad + y * cell_h
            draw.rectangle([left, top, pad + cols * cell_w, top + cell_h], fill=bg)
        style.reset()
    if cursor is not None:
        left, top = pad + cursor[0] * cell_w, pad + cursor[1] * cell_h
        draw.rectangle([left, top + 1, left + 1, top + cell_h - 2], fill=DEFAULT_FG)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)


def tmux(socket: str, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=check, timeout=30
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=REPO / "examples" / "stats.py")
    parser.add_argument("--line", type=int, default=9, help="1-based line to type on")
    parser.add_argument("--col", type=int, default=5, help="1-based column of the cursor")
    parser.add_argument("--type", default="", help="text to type there before waiting")
    parser.add_argument("--out", type=Path, default=REPO / "docs/images/neovim-ghost-text.png")
    parser.add_argument("--cols", type=int, default=84)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--ansi-out", type=Path, help="also save the raw capture here")
    parser.add_argument(
        "--settings", type=json.loads, default={}, help='live server settings, e.g. {"steps": 64}'
    )
    args = parser.parse_args(argv)
    for tool in ("nvim", "tmux"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")

    with tempfile.TemporaryDirectory(prefix="cd-shot-") as tmp:
        tmpdir = Path(tmp)
        doc = tmpdir / args.file.name
        doc.write_text(args.file.read_text())
        marker = tmpdir / "ghost-shown"
        init = tmpdir / "init.lua"
        init.write_text(
            INIT_LUA.format(
                plugin=str(PLUGIN_DIR),
                python=sys.executable,
                marker=str(marker),
                settings=json.dumps(args.settings),
            )
        )
        env = {
            f"XDG_{k}_HOME": str(tmpdir / k.lower()) for k in ("CONFIG", "DATA", "STATE", "CACHE")
        }
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO / "server"), os.environ.get("PYTHONPATH", "")) if p
        )
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        socket = f"cd-shot-{os.getpid()}"
        nvim_cmd = f"env {exports} TERM=tmux-256color nvim --clean -u {init} {doc.name}"
        tmux(socket, "-f", "/dev/null", "new-session", "-d", "-c", tmp, "-x", str(args.cols),
             "-y", str(args.rows), nvim_cmd)  # fmt: skip
        try:
            tmux(socket, "set", "-g", "default-terminal", "tmux-256color")
            tmux(socket, "set", "-as", "terminal-features", ",*:RGB")
            deadline = time.monotonic() + args.timeout
            while "code-diffusion: ready" not in tmux(socket, "capture-pane", "-p"):
                if time.monotonic() > deadline:
                    print("the server did not get ready", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            tmux(socket, "send-keys", f":call cursor({args.line}, {args.col})", "Enter")
            tmux(socket, "send-keys", "a" if args.col > 1 else "i")
            if args.type:
                tmux(socket, "send-keys", "-l", args.type)
            deadline = time.monotonic() + args.timeout
            while not marker.exists():
                if time.monotonic() > deadline:
                    print("no ghost text appeared", file=sys.stderr)
                    print(tmux(socket, "capture-pane", "-p", check=False), file=sys.stderr)
                    return 1
                time.sleep(0.2)
            time.sleep(0.5)  # the statusline redraw after the status notification
            ansi = tmux(socket, "capture-pane", "-e", "-p")
            x, y = tmux(socket, "display-message", "-p", "#{cursor_x} #{cursor_y}").split()
            suggestion = marker.read_text()
        finally:
            tmux(socket, "kill-server", check=False)
    if args.ansi_out:
        args.ansi_out.write_text(ansi)
    render(ansi, args.cols, args.rows, args.out, (int(x), int(y)))
    print(f"wrote {args.out}; the suggestion on screen: {suggestion!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
