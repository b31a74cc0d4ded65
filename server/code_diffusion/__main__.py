"""``python -m code_diffusion`` is the same command as ``code-diffusion``."""

from __future__ import annotations

import sys

from code_diffusion.cli import main

if __name__ == "__main__":
    sys.exit(main())
