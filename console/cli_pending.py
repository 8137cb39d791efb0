"""Commands of the DESIGN.md contract that this build does not have yet: listed, and honest about it."""

from __future__ import annotations

import typer

from queries.errors import BackroomError

# name -> (help, the open issue that brings it)
PENDING = {
    "collect": ("Live collection: OTLP/HTTP receiver, RabbitMQ dead letters, tailing files.", 3),
    "tui": ("The console: overview, orders, SLA, inventory, dead letters, audit.", 5),
}
PENDING_SUBCOMMANDS = {"dlq": {"replay": 6, "reroute": 6}}
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


class NotBuilt(BackroomError):
    """A contract command whose capability has not landed yet."""


def _pending(name: str, issue: int) -> typer.models.CommandFunctionType:
    def command(ctx: typer.Context) -> None:
        raise NotBuilt(f"'{ctx.command_path}' is not in this build yet (issue #{issue})")

    command.__name__ = name.replace(" ", "_")
    return command


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add every pending command, marked as such in its help."""
    for name, (help_text, issue) in PENDING.items():
        app.command(name, help=f"[not built yet] {help_text}", context_settings=_PASS_THROUGH)(
            _pending(name, issue))
    for group, subcommands in PENDING_SUBCOMMANDS.items():
        for name, issue in subcommands.items():
            groups[group].command(name, help="[not built yet]", context_settings=_PASS_THROUGH)(
                _pending(f"{group} {name}", issue))
