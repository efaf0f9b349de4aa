"""The ``livingcircle`` command line: the app, its entry point, and which module has which command.

The commands live by group, each module with its own options and printing:

- :mod:`~livingcircle.cli_regions`: ``load``, ``fetch``, ``import``, ``regions``, ``db``
- :mod:`~livingcircle.cli_query`: ``nearest``, ``catchment``, ``categories``, ``demo``
- :mod:`~livingcircle.cli_gaps`: ``gaps`` (and :mod:`~livingcircle.cli_distributed` for
  ``--distributed``)
- :mod:`~livingcircle.cli_maps`: ``map resident|planner|kiosk|poster|scenario``
- :mod:`~livingcircle.cli_scenario`, :mod:`~livingcircle.cli_sample`,
  :mod:`~livingcircle.cli_kiosk`, :mod:`~livingcircle.cli_keys`, :mod:`~livingcircle.cli_audit`,
  :mod:`~livingcircle.cli_batch`: one group each

The options every command shares (``--data-dir``, ``--database``, ``--standards``,
``--homes``, ``--communities``...) are declared once, in :mod:`~livingcircle.cli_options`;
what they print goes through :mod:`~livingcircle.cli_output`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from livingcircle.cli_audit import audit_app
from livingcircle.cli_batch import batch_app
from livingcircle.cli_gaps import gaps
from livingcircle.cli_keys import keys_app
from livingcircle.cli_kiosk import kiosk_app
from livingcircle.cli_maps import map_app
from livingcircle.cli_options import AtlasChoice, KiosksFile, command
from livingcircle.cli_output import err
from livingcircle.cli_query import catchment, categories, demo, nearest
from livingcircle.cli_regions import db_app, fetch, import_list_command, load, regions_app
from livingcircle.cli_sample import sample_app
from livingcircle.cli_scenario import scenario_app
from livingcircle.geo.errors import LivingCircleError

__all__ = ["app", "main"]

app = typer.Typer(
    name="livingcircle",
    help=(
        "15-minute living-circle service finder: what a resident can reach on foot, and "
        "where services are missing (GB 50180-2018).\n\n"
        "Start with 'livingcircle demo', which loads the built-in Helsinki sample and writes "
        "a map. Regions are kept in LC_DATA_DIR (default: your user data folder)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Entry point: run the app, turning livingcircle errors into one clear line."""
    try:
        app()
    except LivingCircleError as exc:
        where = f" ({exc.operator_detail})" if exc.operator_detail else ""  # for the operator
        err.print("[bold red]error:[/]", f"{exc}{where}", highlight=False, soft_wrap=True)
        sys.exit(2)


# serve's own options (--workers here counts server processes, not Dask's workers)
Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)]
ServerWorkers = Annotated[
    int,
    typer.Option(
        "--workers", help="Server processes; one per core is a good start.", min=1, max=64
    ),
]
AccessLog = Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")]


@command
def serve(
    *,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: ServerWorkers = 1,
    access_log: AccessLog = True,
    where: AtlasChoice,
    kiosks: KiosksFile = None,
) -> None:
    """Run the HTTP API (uvicorn); its documentation is at /docs.

    With several workers on Linux, each listens on the port itself (SO_REUSEPORT) so the
    kernel shares connections out evenly; a worker that dies is replaced.
    """
    from livingcircle.api.serve import serve as run_server  # noqa: PLC0415  (only the server needs it)

    # each worker process builds the app from the environment (api.app:create_app)
    given: dict[str, Path | str | None] = {
        "LC_DATA_DIR": where.data_dir,
        "LC_DATABASE_URL": where.database,
        "LC_STANDARDS_FILE": where.standards,
        "LC_KIOSKS_FILE": kiosks,
    }
    os.environ.update({name: str(value) for name, value in given.items() if value is not None})
    err.print(
        f"starting the API on http://{host}:{port} (docs at /docs), {workers} worker(s)",
        highlight=False,
    )
    run_server(host, port, workers, access_log)


# the order --help lists them in: commands first, then the groups
for top in (load, nearest, catchment, categories, demo, fetch):
    app.command()(top)
app.command("import")(import_list_command)
app.command()(gaps)
app.command()(serve)
for name, group in (
    ("db", db_app),
    ("map", map_app),
    ("regions", regions_app),
    ("sample", sample_app),
    ("kiosk", kiosk_app),
    ("scenario", scenario_app),
    ("keys", keys_app),
    ("audit", audit_app),
    ("batch", batch_app),
):
    app.add_typer(group, name=name)
