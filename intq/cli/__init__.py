"""Layer 6, the command line: `intq inspect|run|train|demo ...`. Each subcommand lives in its own module."""
from __future__ import annotations

import argparse
import sys

from intq.errors import IntqError


def package_version() -> str:
    """The installed distribution's version (importlib.metadata), else ``intq.__version__``."""
    from importlib import metadata
    try:
        return metadata.version("intq")
    except metadata.PackageNotFoundError:
        from intq import __version__
        return __version__


def build_parser() -> argparse.ArgumentParser:
    from intq.cli import model_commands
    parser = argparse.ArgumentParser(prog="intq", description="Integer-only quantized inference and training.")
    parser.add_argument("--version", action="version", version=f"intq {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    model_commands.register(sub)
    try:
        from intq.cli import train_commands
    except ImportError:
        train_commands = None
    if train_commands is not None:
        train_commands.register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IntqError as e:
        print(f"intq: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
