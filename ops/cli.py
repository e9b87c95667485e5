"""The `python3 -m ops` command line: argparse subcommands dispatched to their modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ops import audit, consent, store_secrets
from ops.deps import Deps, default_deps
from ops.errors import OpsError

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 70  # EX_SOFTWARE

Command = Callable[[argparse.Namespace, Deps], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {
    "secrets": (store_secrets.HELP, store_secrets.add_arguments, store_secrets.run),
    "consent": (consent.HELP, consent.add_arguments, consent.run),
    "audit": (audit.HELP, audit.add_arguments, audit.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m ops",
        description="Operator commands for the Partner Center password reset function.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an unexpected error (may quote upstream messages)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None, deps: Deps | None = None) -> int:
    args = build_parser().parse_args(argv)
    deps = deps or default_deps()
    _, _, command = COMMANDS[args.command]
    try:
        return command(args, deps)
    except OpsError as failure:
        deps.console.warn(f"error: {failure}")
        return failure.exit_code
    except KeyboardInterrupt:
        deps.console.warn("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        # Exception messages can quote upstream answers: name the type only.
        deps.console.warn(f"error: unexpected {type(exc).__name__} (--debug shows the traceback)")
        return EXIT_UNEXPECTED
