"""What happens before initialize is answered."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_server_does_not_import_torch():
    """initialize is answered before torch loads: nothing on the way to it imports torch."""
    code = ("import sys\n"
            "from code_diffusion.cli import build_parser\n"
            "from code_diffusion.lsp import create_server\n"
            "build_parser(); create_server()\n"
            "sys.exit('torch' in sys.modules or 'transformers' in sys.modules)\n")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
