"""`entity-lakehouse`: the commands operators and downstream scripts call.

Exit codes: 0 success (quarantined input is not a failure), 1 a run failed, 2 bad usage,
75 the lake is busy with another run (try again later).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from pathlib import Path

EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 1, 2, 75


def main(argv: list[str] | None = None) -> int:
    _quiet_library_warnings()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted: the next run resumes from the last committed table versions", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the user gets one line, the trace only on --debug
        from pipelines.storage.lake import LakeBusy

        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BUSY if isinstance(error, LakeBusy) else EXIT_FAILED


def _quiet_library_warnings() -> None:
    """Operators see our messages, not libraries' notices about their own APIs."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")


def _path_help() -> dict[str, str]:
    """`--landing` etc. with their environment variable and default, from pipelines/storage/paths.py (one home)."""
    from pipelines.storage.paths import DEFAULTS

    what = {
        "landing": "landing zone",
        "lake": "Delta lake directory",
        "warehouse": "curated DuckDB file",
        "dagster_home": "Dagster instance",
    }
    return {
        f"--{f.replace('_', '-')}": f"{what[f]} (env {env}, default {default})"
        for f, (env, default) in DEFAULTS.items()
    }


PATH_OPTIONS = _path_help()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entity-lakehouse", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="load new deliveries and rebuild the warehouse")
    for option, help_text in PATH_OPTIONS.items():
        run.add_argument(option, help=help_text)
    run.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for another run to finish"
    )
    run.set_defaults(handler=_run)

    asof = commands.add_parser("asof", help="write the curated tables as they were published on a date")
    asof.add_argument(
        "--date", type=dt.date.fromisoformat, required=True, metavar="YYYY-MM-DD", help="the as-of date D"
    )
    asof.add_argument("--out", type=Path, required=True, help="DuckDB file to write (replaced if it exists)")
    for option, help_text in PATH_OPTIONS.items():
        asof.add_argument(option, help=help_text)
    asof.set_defaults(handler=_asof)

    ui = commands.add_parser("ui", help="open the Dagster UI over the instance that runs record into")
    ui.add_argument("--dagster-home", help=PATH_OPTIONS["--dagster-home"])
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)

    demo = commands.add_parser("demo", help="generate demo landing data with ground truth")
    demo.add_argument("--entities", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--days", type=int, default=5)
    demo.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    demo.add_argument("--out", type=Path, default=Path("data/landing"), help="landing zone to write")
    demo.add_argument("--truth", type=Path, help="ground-truth folder (default: ground_truth beside --out)")
    demo.add_argument(
        "--noise", type=float, default=1.0, help="multiplies the formatting and code noise rates (0: none)"
    )
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser(
        "serve", help="serve the published warehouse over HTTP (API and officer page)"
    )
    serve.add_argument("--warehouse", help=PATH_OPTIONS["--warehouse"])
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--keys", type=Path, help=f"callers' keys file (env {KEYS_ENV}; default: none, open scope only)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); each allows 1/N of every caller's rate (README: data service)",
    )
    serve.set_defaults(handler=_serve)

    _keys_parser(commands)
    return parser


KEYS_ENV = "ENTITY_SERVICE_KEYS"


def _keys_parser(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="issue, list, disable and re-enable the service's caller keys")
    keys.add_argument("--keys", type=Path, help=f"keys file (env {KEYS_ENV})")
    actions = keys.add_subparsers(required=True, metavar="action")
    issue = actions.add_parser("issue", help="add a caller and print its new key (shown once)")
    issue.add_argument("name")
    issue.add_argument("--scope", choices=("open", "partner", "internal"), required=True)
    issue.add_argument(
        "--district", action="append", default=[], help="limit to this 6-digit district (repeatable)"
    )
    issue.add_argument("--rate", help="own rate limit, e.g. 120/minute (default: the scope's, settings.toml)")
    issue.set_defaults(handler=_keys_issue)
    actions.add_parser("list", help="callers, scopes, districts, enabled").set_defaults(handler=_keys_list)
    for action, enabled in (("disable", False), ("enable", True)):
        toggle = actions.add_parser(action, help=f"{action} a caller's key")
        toggle.add_argument("name")
        toggle.set_defaults(handler=_keys_toggle, enabled=enabled)


def _run(args: argparse.Namespace) -> int:
    from pipelines.storage import paths as paths_module
    from pipelines.storage.lake import exclusive

    paths = paths_module.resolve(
        landing=args.landing, lake=args.lake, warehouse=args.warehouse, dagster_home=args.dagster_home
    )
    problem = _landing_problem(paths.landing)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    # Locked before Dagster is even imported, so that a second run is turned away in about a second.
    with exclusive(paths.lake, args.wait):
        from pipelines.orchestration.runner import run_batch, summary

        batch = run_batch(paths)
        print(summary(paths, batch))
    return 0


def _asof(args: argparse.Namespace) -> int:
    """Reads only the lake (no lock: maintenance keeps the versions it reads for the retention window)."""
    from pipelines.publishing.asof import NothingPublished, write_asof
    from pipelines.storage import paths as paths_module

    paths = paths_module.resolve(
        landing=args.landing, lake=args.lake, warehouse=args.warehouse, dagster_home=args.dagster_home
    )
    try:
        publication, tables = write_asof(paths.lake, args.date, args.out)
    except NothingPublished as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{args.out}: {len(tables)} curated tables as published on {args.date} "
        f"(the warehouse of as-of date {publication.as_of}, run {publication.run_id})"
    )
    return 0


def _landing_problem(landing: Path) -> str | None:
    """Why this landing zone cannot be run at all (nothing delivered), or None."""
    layout = "expected <landing>/<source>/<YYYY-MM-DD>/<file>.csv|xlsx, source one of registration, licensing, district, corrections"
    if not landing.is_dir():
        return f"landing zone {landing} does not exist ({layout})"
    if not any(p.is_file() for p in landing.rglob("*")):
        return f"landing zone {landing} is empty ({layout})"
    return None


def _ui(args: argparse.Namespace) -> int:
    import os

    from pipelines.orchestration.runner import prepare_instance
    from pipelines.storage import paths as paths_module

    paths = paths_module.resolve(dagster_home=args.dagster_home)
    paths.export_env()
    prepare_instance(paths.dagster_home)
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={paths.dagster_home})")
    os.execvp("dagster", ["dagster", "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(args.port)])


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import generate

    truth = args.truth or args.out.parent / "ground_truth"
    result = generate(
        args.out,
        truth,
        entities=args.entities,
        seed=args.seed,
        days=args.days,
        start=args.start,
        noise=args.noise,
    )
    print(f"demo landing zone: {args.out} ({result})")
    print(f"ground truth:      {truth}")
    return 0


def _keys_file(args: argparse.Namespace) -> Path | None:
    import os

    chosen = args.keys or os.environ.get(KEYS_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


def _serve(args: argparse.Namespace) -> int:
    import os

    from pipelines.domain import settings
    from pipelines.storage import paths as paths_module

    warehouse = paths_module.resolve(warehouse=args.warehouse).warehouse
    if not warehouse.is_file():
        print(f"error: no published warehouse at {warehouse} (run `entity-lakehouse run`)", file=sys.stderr)
        return EXIT_FAILED
    import uvicorn

    from pipelines.service import workers
    from pipelines.service.app import create_app

    keys = _keys_file(args)
    shown = keys or "none, open scope only"
    print(f"serving {warehouse} on http://{args.host}:{args.port} (keys: {shown}; workers: {args.workers})")
    where = {"host": args.host, "port": args.port, "log_level": "warning"}
    if args.workers <= 1:
        uvicorn.run(create_app(warehouse, keys, settings.load().service), **where)
    else:  # uvicorn starts each worker from an import string: the factory reads its options from the environment
        os.environ.update(workers.environment(warehouse, keys, args.workers))
        uvicorn.run(workers.FACTORY, factory=True, workers=args.workers, **where)
    return 0


def _required_keys_file(args: argparse.Namespace) -> Path:
    path = _keys_file(args)
    if path is None:
        print(f"error: give --keys FILE or set {KEYS_ENV}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return path


def _keys_issue(args: argparse.Namespace) -> int:
    from pipelines.service import keys

    try:
        key = keys.issue(_required_keys_file(args), args.name, args.scope, tuple(args.district), args.rate)
    except keys.KeysError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"caller {args.name} ({args.scope}) added; its key, shown only this once:")
    print(key)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from pipelines.service import keys

    for caller in keys.load(_required_keys_file(args)):
        state = "enabled" if caller.enabled else "disabled"
        districts = ",".join(caller.districts) or "all districts"
        print(f"{caller.name}\t{caller.scope}\t{districts}\t{state}\t{caller.rate or 'scope rate'}")
    return 0


def _keys_toggle(args: argparse.Namespace) -> int:
    from pipelines.service import keys

    try:
        caller = keys.set_enabled(_required_keys_file(args), args.name, args.enabled)
    except keys.KeysError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"caller {caller.name}: {'enabled' if caller.enabled else 'disabled'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
