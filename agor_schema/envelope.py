"""One output contract for every command: text for people, ONE JSON object for programs.

With `--format json` every command, on every path (success, stale, refused, input error, a
usage error found by click), prints exactly one object on stdout:

    {"ok": bool, "command": str, "exit_code": int, "errors": [...], "warnings": [...],
     "result": {...}}

Each error and warning is `{"message": ...}` plus whichever of `file, line, col, table,
column, field, migration, statement` apply (runner errors also carry their `kind`:
failed, refused, lock_timeout, connect, input). A command is written as

    @envelope_command("name", short_help=...)
    @click.option(...)
    def name_command(report: Report, ...) -> int | None:
        report.result = {...}; report.say("text line"); return exit_code

and raises the project's input errors freely: the decorator turns them into errors with exit
code 2 (runner errors keep their own code). Every string printed, text or JSON, goes through
`redact_secrets` first. Exit codes: 0 ok, 1 stale / inconsistent / refused, 2 usage or input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, NoReturn

import click

from agor_schema.redact import redact_secrets, redact_value

WHERE_KEYS = ("file", "line", "col", "table", "column", "field", "migration", "statement")

FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="Output for people (text) or programs (one JSON object).",
)


def problem(message: str, **where: Any) -> dict[str, Any]:
    """An error/warning entry: the message plus the places that apply (None values dropped)."""
    entry: dict[str, Any] = {"message": message}
    for key, value in where.items():
        if value is not None and value != "":
            entry[key] = value
    return entry


class Report:
    """What one command run says: collected here, printed once by `finish`."""

    def __init__(self, command: str, output_format: str = "text") -> None:
        self.command = command
        self.json = output_format == "json"
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}

    # --- collecting -------------------------------------------------------------------------
    def error(self, message: str, *, text: str | None = None, **where: Any) -> None:
        """Record an error; in text mode print `text` (default `error: message`) to stderr."""
        self.errors.append(problem(message, **where))
        self.say(text if text is not None else f"error: {message}", err=True)

    def warn(self, message: str, *, text: str | None = None, **where: Any) -> None:
        """Record a warning; in text mode print `text` (default `warning: message`) to stderr."""
        self.warnings.append(problem(message, **where))
        self.say(text if text is not None else f"warning: {message}", err=True)

    def say(self, line: str = "", err: bool = False) -> None:
        """One line for people (text mode only); secrets are removed first."""
        if not self.json:
            click.echo(redact_secrets(line), err=err)

    def progress(self, line: str) -> None:
        """A progress line on stderr for a person watching: text mode, stderr a terminal (or
        AGORSCHEMA_PROGRESS=1). JSON output and logs of pipes stay as they are."""
        if self.show_progress:
            click.echo(redact_secrets(line), err=True)

    @property
    def show_progress(self) -> bool:
        import os

        forced = os.environ.get("AGORSCHEMA_PROGRESS", "").strip().lower()
        if forced in ("0", "false", "no"):
            return False
        if self.json:
            return False
        if forced in ("1", "true", "yes"):
            return True
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    # --- output -----------------------------------------------------------------------------
    def envelope(self, exit_code: int) -> dict[str, Any]:
        return redact_value({
            "ok": exit_code == 0,
            "command": self.command,
            "exit_code": exit_code,
            "errors": self.errors,
            "warnings": self.warnings,
            "result": self.result,
        })

    def finish(self, exit_code: int) -> NoReturn:
        """Print the JSON envelope (JSON mode) and exit with `exit_code`."""
        if self.json:
            click.echo(json.dumps(self.envelope(exit_code), indent=2, default=str))
        sys.exit(exit_code)


# --- turning exceptions into errors -----------------------------------------------------------


def _schema_errors(report: Report, exc: Any) -> None:
    errors = getattr(exc, "errors", None) or [exc]
    for err in errors:
        mark = getattr(err, "mark", None)
        field = getattr(err, "field", None)
        kind, item = getattr(err, "kind", None), getattr(err, "item", None)
        if kind and item:
            field = f"{kind} {item}" + (f".{field}" if field else "")
        report.error(
            getattr(err, "message", str(err)), text=f"error: {err}",
            file=mark.file if mark else None, line=mark.line if mark else None,
            col=mark.column if mark else None, table=getattr(err, "table", None),
            column=getattr(err, "column", None), field=field,
        )
    count = len(errors)
    report.say(f"{count} errors; nothing was written" if count > 1 else "nothing was written",
               err=True)


def _config_error(report: Report, exc: Any) -> None:
    report.error(str(exc), file=_str(getattr(exc, "file", None)), field=getattr(exc, "key", None))


def _runner_error(report: Report, exc: Any) -> None:
    result = getattr(exc, "result", None)
    if result is not None and not report.result:
        report.result = result.to_dict()
    report.result["error"] = exc.to_dict()  # the details (as_written, problems, ...)
    for p in getattr(exc, "problems", []) or []:
        report.errors.append(problem(f"[{p.kind}] {p.message}", kind=p.kind, migration=p.tag))
    report.error(
        exc.message, kind=exc.kind, migration=getattr(exc, "tag", None),
        file=getattr(exc, "file", None), field=getattr(exc, "field", None),
        line=getattr(exc, "line", None), statement=getattr(exc, "statement", None),
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def handle_exception(report: Report, exc: BaseException) -> int | None:
    """The exit code for a known input/runner exception after recording it, else None."""
    from agor_schema.config import ConfigError
    from agor_schema.errors import InputError, SchemaError, SchemaErrors

    if isinstance(exc, InputError):
        report.error(exc.message, **{k: _plain(v) for k, v in exc.where.items()})
        if exc.exit_code == 2:
            report.say("nothing was written", err=True)
        return exc.exit_code
    if isinstance(exc, (SchemaError, SchemaErrors)):
        _schema_errors(report, exc)
        return 2
    if isinstance(exc, ConfigError):
        _config_error(report, exc)
        report.say("nothing was written", err=True)
        return 2
    for name, code in _lazy_kinds():
        kind = _resolve(name)
        if kind is not None and isinstance(exc, kind):
            if code is None:  # a RunnerError: its own exit code
                _runner_error(report, exc)
                return int(getattr(exc, "exit_code", 1))
            report.error(str(exc), **getattr(exc, "where", {}))
            return code
    if isinstance(exc, OSError):  # a project file or folder that cannot be read or written
        name = exc.filename if exc.filename is not None else ""
        report.error(f"cannot read or write {name}: {exc.strerror or exc}" if name else str(exc),
                     file=_str(exc.filename))
        return 2
    return None


def _lazy_kinds() -> list[tuple[str, int | None]]:
    """Exception classes by dotted name, only resolved when their module is already loaded
    (an exception of a module never imported cannot have been raised)."""
    return [
        ("agor_schema.run_results.RunnerError", None),
        ("agor_schema.db.DatabaseURLError", 2),
        ("agor_schema.db.RuntimeDBError", 2),
        ("agor_schema.introspect.IntrospectionError", 2),
        ("agor_schema.journal.JournalError", 2),
        ("agor_schema.locking.ProjectLockTimeout", 1),
    ]


def _resolve(dotted: str) -> type | None:
    module_name, _, attr = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    return getattr(module, attr, None) if module is not None else None


# --- the click side ---------------------------------------------------------------------------


def wants_json(args: Sequence[str]) -> bool:
    """Whether raw command-line arguments ask for `--format json` (before click parsed them)."""
    args = list(args)
    for n, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format=json" or (arg == "--format" and n + 1 < len(args)
                                      and args[n + 1] == "json"):
            return True
    return False


def usage_error(command: str, exc: click.ClickException, args: Sequence[str]) -> None:
    """Report a click usage error as the envelope when JSON was asked for, then exit 2.
    Returns (so click prints its usual text) when JSON was not asked for."""
    if not wants_json(args):
        return
    report = Report(command, "json")
    report.errors.append(problem(exc.format_message()))
    report.finish(exc.exit_code if exc.exit_code else 2)


def help_envelope(command: click.Command, name: str, info_name: str | None,
                  args: Sequence[str], parent: Any = None) -> None:
    """`--help` (or `-h`) with `--format json`: the help text as the envelope's result, exit
    0. Returns (click prints its usual help) when JSON was not asked for."""
    args = list(args)
    options = args[:args.index("--")] if "--" in args else args
    if not any(a in ("--help", "-h") for a in options) or not wants_json(args):
        return
    ctx = click.Context(command, info_name=info_name, parent=parent)
    report = Report(name, "json")
    report.result = {"help": command.get_help(ctx)}
    report.finish(0)


class EnvelopeCommand(click.Command):
    """A click command whose own usage errors (bad option, missing argument, bad choice)
    and `--help` print the JSON envelope when `--format json` is among its arguments."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> click.Context:
        raw = list(args)
        help_envelope(self, self.name or str(info_name), info_name, raw, parent)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            usage_error(self.name or str(info_name), exc, raw)
            raise


class EnvelopeGroup(click.Group):
    """The top-level group: an unknown command or bad group option with `--format json`
    gets the envelope too."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            usage_error(args[0] if args else "agorschema", exc, args)
            raise

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> click.Context:
        raw = list(args)
        if not any(a in self.commands for a in raw):  # `agorschema --help --format json`
            help_envelope(self, "agorschema", info_name, raw, parent)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            usage_error("agorschema", exc, raw)
            raise


URL_VARIABLES = ("AGORSCHEMA_DATABASE_URL", "DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL")


def _remember_given_secrets(options: dict[str, Any]) -> None:
    """Passwords in URLs from the command line and the environment are never printed, in
    whatever message they would otherwise end up (`redact.remember_secrets`)."""
    import os

    from agor_schema.redact import remember_secrets

    for value in [*options.values(), *(os.environ.get(v) for v in URL_VARIABLES)]:
        if isinstance(value, str):
            remember_secrets(value)


INTERRUPTED_MIGRATE = (
    "; migrations it had finished stay applied, and the one that was running is applied "
    "whole or not at all (one transaction with its bookkeeping row; a file that runs as "
    "written keeps the statements it had committed): `agorschema status` shows where the "
    "database stands")


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_interrupts() -> Any:
    """SIGTERM (a CI timeout, `docker stop`, systemd) unwinds like Ctrl-C: the migration that
    runs is rolled back by its transaction, locks and leases are released, and the envelope
    says so, instead of the process vanishing silently. Only in the main thread, and only
    where nobody installed a handler of their own; the previous one is restored after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        import signal

        signal.signal(signal.SIGTERM, previous)


def _interrupted(report: Report, name: str) -> int:
    """An interrupt (SIGINT) is reported, not a traceback or click's bare "Aborted!"; the
    message claims nothing that may not have happened."""
    report.error(f"interrupted: `agorschema {name}` stopped before it finished"
                 + (INTERRUPTED_MIGRATE if name == "migrate" else ""))
    return 1


def envelope_command(name: str, **command_kwargs: Any) -> Callable[[Callable], click.Command]:
    """`click.command(name)` plus `--format` and the envelope: the function receives a Report
    first and returns its exit code (None = 0); known input errors become exit 2."""

    def decorate(func: Callable[..., int | None]) -> click.Command:
        @wraps(func)
        def wrapper(*args: Any, output_format: str = "text", **kwargs: Any) -> None:
            report = Report(name, output_format)
            _remember_given_secrets(kwargs)
            previous = _sigterm_interrupts()
            try:
                code = func(report, *args, **kwargs)
            except KeyboardInterrupt:  # Ctrl-C, or a CI job cancelled: still one envelope
                code = _interrupted(report, name)
            except Exception as exc:  # noqa: BLE001 - known kinds only, others re-raised
                code = handle_exception(report, exc)
                if code is None:
                    raise
            finally:
                _restore_sigterm(previous)
            report.finish(int(code or 0))

        return click.command(name, cls=EnvelopeCommand, **command_kwargs)(FORMAT_OPTION(wrapper))

    return decorate
