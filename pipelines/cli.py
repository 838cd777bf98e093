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
        from pipelines.lake import LakeBusy

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entity-lakehouse", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="load new deliveries and rebuild the warehouse")
    run.add_argument("--landing", help="landing zone (env ENTITY_LANDING_DIR, default data/landing)")
    run.add_argument("--lake", help="Delta lake directory (env ENTITY_LAKE_DIR, default data/lake)")
    run.add_argument("--warehouse", help="curated DuckDB file (env ENTITY_WAREHOUSE, default data/warehouse/curated.duckdb)")
    run.add_argument("--dagster-home", help="Dagster instance (env DAGSTER_HOME, default data/dagster_home)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for another run to finish")
    run.set_defaults(handler=_run)

    ui = commands.add_parser("ui", help="open the Dagster UI over the instance that runs record into")
    ui.add_argument("--dagster-home", help="Dagster instance (env DAGSTER_HOME, default data/dagster_home)")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)

    demo = commands.add_parser("demo", help="generate demo landing data with ground truth")
    demo.add_argument("--entities", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--days", type=int, default=5)
    demo.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    demo.add_argument("--out", type=Path, default=Path("data/landing"), help="landing zone to write")
    demo.add_argument("--truth", type=Path, help="ground-truth folder (default: ground_truth beside --out)")
    demo.add_argument("--noise", type=float, default=1.0, help="multiplies the formatting and code noise rates (0: none)")
    demo.set_defaults(handler=_demo)
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipelines import paths as paths_module
    from pipelines.lake import exclusive

    paths = paths_module.resolve(
        landing=args.landing, lake=args.lake, warehouse=args.warehouse, dagster_home=args.dagster_home
    )
    if not paths.landing.is_dir():
        print(f"error: landing zone {paths.landing} does not exist", file=sys.stderr)
        return EXIT_USAGE
    # Locked before Dagster is even imported, so that a second run is turned away in about a second.
    with exclusive(paths.lake, args.wait):
        from pipelines.runner import run_batch, summary

        batch = run_batch(paths)
        print(summary(paths, batch))
    return 0


def _ui(args: argparse.Namespace) -> int:
    import os

    from pipelines import paths as paths_module
    from pipelines.runner import prepare_instance

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


if __name__ == "__main__":
    sys.exit(main())
