#!/usr/bin/env bash
# Install everything the test suite needs from this repository's own files, then run it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# The test extra pulls the bench and eval extras: the suite runs the measurement tools too;
# ray: the tests marked `ray`.
python3 -m pip install --quiet -e '.[test,ray]'

# Real VS Code (code-server + chromium) for the tests marked `vscode`.
if [[ -f scripts/setup-vscode-e2e.sh ]]; then
    bash scripts/setup-vscode-e2e.sh
fi

python3 -m pytest "$@"
