"""``code-diffusion serve``: run the language server over stdio (default) or TCP.

stdout is the LSP transport: the server writes protocol messages to it and nothing else (a
stray ``print`` goes to stderr). Logs go to the editor (``window/logMessage``) and to stderr or
``--log-file``.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

HOST = "127.0.0.1"
DEFAULT_PORT = 2087


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve", help="run the language server (stdio by default)",
        description="Run the code-diffusion language server. Point an LSP client at "
                    "`code-diffusion serve` (stdio); the model loads in the background.")
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true",
                           help="serve over stdin/stdout (the default; editors may pass it)")
    transport.add_argument("--tcp", action="store_true",
                           help=f"serve one client over TCP on {HOST} instead")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port with --tcp (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--log-file", metavar="PATH",
                        help="append logs to PATH instead of stderr")
    parser.add_argument("--model", metavar="DIR",
                        help="model directory; overrides the editor's codeDiffusion.modelPath")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log everything, the LSP messages included")
    return parser


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        print(f"code-diffusion serve: error: --port must be 0 to 65535, got {args.port}",
              file=sys.stderr)
        return 2
    transport = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed by mistake must not corrupt the transport

    from code_diffusion.lsp import create_server
    from code_diffusion.lsp.logging import configure_logging

    configure_logging(args.log_file, verbose=args.verbose)
    server = create_server(model_path=args.model)
    if args.tcp:
        server.start_tcp(HOST, args.port)
    else:
        server.start_io(sys.stdin.buffer, transport)
    exit_now(server.exit_code)


def exit_now(code: int) -> NoReturn:
    """End the process without the interpreter's teardown, once the transport is closed.

    With torch and a model loaded, that teardown takes seconds (an editor expects the server
    gone within one after it goes away), and when the model thread is still inside a forward
    pass it aborts the process ("terminate called without an active exception", SIGABRT).
    Logs are flushed first; stdout was flushed after every message.
    """
    import logging
    import os

    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
