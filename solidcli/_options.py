"""Option types shared by the CLI commands, declared once.

Names are plain strings (not Enums) so that an unknown value gets solid's own one-line error
("unknown backbone 'x' (choose from ...)") and a known-but-unbuilt one says "not implemented
yet", instead of a usage box.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from solidcli.models.backbones import BACKBONES
from solidcli.models.dsrs import DSRS

DatasetOpt = Annotated[str | None, typer.Option(
    "--dataset", "-d", help="Dataset name, or a folder of RecBole/UniSRec atomic files "
    "(default: first of `datasets` in params.yaml).", show_default=False)]
ModalitiesOpt = Annotated[str | None, typer.Option(
    "--modalities", help="Table 3: semantics from this modality set instead of the dataset's "
    "default, e.g. id+text (kept in data/semantics-by-modality/<dataset>/<set>/).",
    show_default=False)]
BackboneOpt = Annotated[str | None, typer.Option(
    "--backbone", "-b", help=f"SR backbone: {' | '.join(BACKBONES)} "
    "(default: first of `backbones`).", show_default=False)]
DsrOpt = Annotated[str | None, typer.Option(
    "--dsr", help=f"Dynamic model: {' | '.join(DSRS)} (default: first of `dsrs`, or of "
    "`solid_dsrs` for SOLID stages).", show_default=False)]
VariantOpt = Annotated[str, typer.Option(
    "--variant", help="Which trained model: base | spg | sml | scl | scl_only.")]
TagOpt = Annotated[str | None, typer.Option(
    "--tag", help="Name this run apart: its folder becomes <variant>-<tag> (sweeps).",
    show_default=False)]
DataSeedOpt = Annotated[int | None, typer.Option(
    "--data-seed", help="Override `seed`, the data seed (the valid/test candidates, k-means); "
    "`--seed` is always a training seed.", show_default=False)]
DeviceOpt = Annotated[str | None, typer.Option(
    "--device", help="Override `device`: auto | cpu | cuda | mps.", show_default=False)]
ParamsOpt = Annotated[Path, typer.Option(
    "--params", help="Parameters file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", "-S", help="Override any parameter, e.g. -S solid.lambda=1 (repeatable).",
    show_default=False)]
