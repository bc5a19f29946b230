"""The ``lrnas`` command.

    lrnas --help
    lrnas train --help            # Hydra's help: config groups and their options
    lrnas train experiment=smoke  # any Hydra overrides; -m for sweeps
    lrnas report outputs          # one table of every finished run below a folder
    lrnas landmarks build space=nb201 standalone=nb201_cpu data.root=PATH   # landmarks trained stand-alone
    lrnas proxies space=nb201 data.root=PATH --archs 1000  # zero-cost proxies of 1,000 cells, no training
"""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="lrnas")
def cli() -> None:
    """Weight-sharing NAS with landmark regularization: train super-nets, report how well they rank."""


# Hydra does not support click groups around @hydra.main (hydra#409, #1964): pass the arguments through unparsed and
# let Hydra read them from sys.argv, which keeps -m sweeps, run folders and logging working.
@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def train(overrides: tuple[str, ...]) -> None:
    """Train a super-net and report Kendall tau vs ground truth (Hydra overrides; `lrnas train --help`)."""
    from .benchmarks import GroundTruthError  # imported here so `lrnas --help` stays fast
    from .resume import expand_resume
    from .validation import preflight

    # Every job of a sweep is checked before the first starts: bad input is one line and exit 2, not a failed job hours
    # into a sweep. LRNAS_DEBUG=1 adds the traceback.
    try:
        overrides = expand_resume(list(overrides))
        preflight(overrides)
    except (ValueError, GroundTruthError) as error:
        if os.environ.get("LRNAS_DEBUG") == "1":
            traceback.print_exc()
        click.echo(f"error: {error}", err=True)
        sys.exit(2)

    from .train import main

    sys.argv = ["lrnas train", *overrides]
    main()


@cli.command()
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the runs here.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write report.md, report.csv and report.tex (the paper's table), runs.csv, history.csv and the "
                   "plots (PNG and PDF) into this folder.")
@click.option("--proxies", "proxy_names", default="",
              help="Comma-separated zero-cost proxies to score on each run's own evaluation sample and show beside "
                   "it, for runs that did not record them (eval.proxies); cached as a run's would be.")
def report(folders: tuple[Path, ...], csv_path: Path | None, out: Path | None, proxy_names: str) -> None:
    """Tabulate finished runs under FOLDERS (default: outputs): per run, then mean, std and 95% interval over seeds.

    Runs that are not finished (unfinished, failed, or sweep jobs that never started) are listed, never averaged.

    \b
    lrnas report outputs/sweeps/table_nb201_cpu --out docs/results/table-nb201-cpu
    lrnas report outputs/sweeps/table_nb201_cpu --proxies synflow,naswot     # free rankings on the runs' samples
    """
    import pandas as pd

    from .reporting.runs import collect_runs, summarise

    try:
        runs = collect_runs(*(folders or [Path("outputs")]))
        if proxy_names:
            from .reporting.free_rankings import add_proxies

            runs = add_proxies(runs, proxy_names.split(","))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    summary = summarise(runs)
    shown = [*runs.keys, "n", "kendall_tau_mean", "kendall_tau_std", "kendall_tau_ci_low", "kendall_tau_ci_high",
             *(column for column in summary if column.endswith("_mean") and column != "kendall_tau_mean")]
    # Columns: the config keys that differ between runs, then the metrics; "-" marks a value a run does not have.
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.float_format", "{:.3f}".format):
        click.echo(runs.table.drop(columns=["run", "git_revision"]).to_string(index=False, na_rep="-"))
        click.echo("\nover seeds (Kendall tau on held-out, non-landmark archs; compare with param_count_kendall_tau; "
                   "ci_low/ci_high: 95% interval, Student's t on Fisher's z; none below 3 seeds):")
        click.echo(summary[shown].to_string(index=False, na_rep="-"))
    for entry in runs.left_out:
        click.echo(f"left out: {entry}", err=True)
    if csv_path:
        runs.table.to_csv(csv_path, index=False)
    if out:
        from .reporting.write import write_report

        try:
            written = write_report(runs, out, "lrnas report " + " ".join(sys.argv[2:]))
        except (ValueError, RuntimeError, OSError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"wrote {', '.join(path.name for path in written)} to {out}")


@cli.group()
def landmarks() -> None:
    """Landmark sets: build them by training architectures stand-alone, where no benchmark has them."""


@landmarks.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                     "help_option_names": []})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
def build(overrides: tuple[str, ...]) -> None:
    """Train M architectures stand-alone and write landmarks.csv for `landmarks=file` (Hydra overrides; `--help`).

    \b
    lrnas landmarks build space=nb201 standalone=nb201_cpu data.root=PATH   # 30 random NB201 cells, CPU recipe
    lrnas landmarks build -m 'build.only=range(30)' hydra/launcher=lrnas_slurm   # one job per architecture
    """
    from .standalone.build import main

    sys.argv = ["lrnas landmarks build", *overrides]
    main()


@landmarks.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def gather(folder: Path) -> None:
    """Write FOLDER/landmarks.csv from a build's finished architectures (the last job of a sweep does it too)."""
    from .standalone.build import gather as gather_build

    if not (folder / "build.json").exists():
        raise click.ClickException(f"{folder} is not a build folder (it has no build.json); pass the build's build.out")
    written = gather_build(folder)
    if written is None:
        raise click.ClickException(f"{folder}: not every architecture is built yet; run the build again to finish")
    click.echo(f"wrote {written}")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--archs", "archs_spec", default="200", show_default=True,
              help="N random architectures of the space (seeded), 'all' (the whole table), or a file: one per line or "
                   "a CSV with an arch column.")
@click.option("--proxies", "names", default="params,flops,naswot,synflow,grad_norm,snip,jacob_cov", show_default=True,
              help="Comma-separated zero-cost proxies.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seeds the archs, the minibatch and every init.")
@click.option("--out", default=Path("proxies.csv"), show_default=True, type=click.Path(path_type=Path),
              help="CSV: arch, each proxy, ground truth.")
def proxies(overrides: tuple[str, ...], archs_spec: str, names: str, seed: int, out: Path) -> None:
    """Score architectures with zero-cost proxies at initialisation, no training; print their rank correlation with
    ground truth. OVERRIDES as for `lrnas landmarks build` (space=, standalone=, data.root=).

    \b
    lrnas proxies space=nb201 data.root=PATH --archs 1000 --out proxies.csv
    """
    from .standalone.proxies import run

    try:
        click.echo(run(list(overrides), archs_spec, [n.strip() for n in names.split(",") if n.strip()], seed, out))
    except (ValueError, OSError) as error:
        if os.environ.get("LRNAS_DEBUG") == "1":
            traceback.print_exc()
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


@cli.group()
def bench() -> None:
    """Benchmark ground truth: convert official benchmark files into lrnas tables."""


# Each importable benchmark: the option naming its official file, and the default --out.
IMPORTABLE = {"nb101": ("--tfrecord", "nb101_full.csv.gz"), "nds": ("--json", "darts_nds.csv.gz")}


# Paths are plain click.Path without click's own checks: a missing or unusable file is one line and exit 2 (like
# `train`), where click would print its usage block.
@bench.command("import")
@click.argument("benchmark")
@click.option("--tfrecord", type=click.Path(path_type=Path),
              help="nb101: the official file, nasbench_only108.tfrecord.")
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="nds: NDS's DARTS.json (nds_data/DARTS.json in NDS's data.zip; .json.gz also read).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Where to write the table (gzip CSV when it ends in .gz).  [default: nb101_full.csv.gz for nb101, "
                   "darts_nds.csv.gz for nds]")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--keep-none", is_flag=True,
              help="nds: keep genotypes with a none input (a zero op), as the authors' darts_nds table does; "
                   "without it they are skipped and counted.")
def import_(benchmark: str, tfrecord: Path | None, json_path: Path | None, out: Path | None, force: bool,
            keep_none: bool) -> None:
    """Convert BENCHMARK's official file into an lrnas ground-truth table (BENCHMARK: nb101 or nds).

    nb101 reads NAS-Bench-101's TFRecord without TensorFlow, checking every record's checksums, and writes one row per
    cell: hash, arch_str, params, mean validation/test accuracy (%), full. Use it with `lrnas train space=nb101
    space.table=PATH`.

    nds reads the DARTS file of "On Network Design Spaces" (NDS) and writes one row per DARTS genotype: arch_str,
    cifar10_test (100 - final test error, mean over seeds, %), params_m, flops_m, repeats, epochs; cells outside
    lrnas's DARTS space, and cells with a none input unless --keep-none, are skipped and counted per reason. Use it
    with `lrnas train space=darts space.table=PATH`.

    \b
    lrnas bench import nb101 --tfrecord nasbench_only108.tfrecord   # writes nb101_full.csv.gz
    lrnas bench import nds --json nds_data/DARTS.json               # writes darts_nds.csv.gz
    lrnas bench import nds --json nds_data/DARTS.json --keep-none   # every NDS genotype, as the authors' table
    """
    try:
        if benchmark not in IMPORTABLE:
            raise ValueError(f"cannot import benchmark {benchmark!r}; valid benchmarks are {', '.join(IMPORTABLE)}")
        given = {"--tfrecord": tfrecord, "--json": json_path}
        needed, default_out = IMPORTABLE[benchmark]
        if given[needed] is None:
            raise ValueError(f"{benchmark} needs {needed} FILE, the official file to convert")
        stray = [option for option, value in given.items() if value is not None and option != needed]
        if stray:
            raise ValueError(f"{', '.join(stray)} is not an input of {benchmark}, which reads {needed}")
        if keep_none and benchmark != "nds":
            raise ValueError(f"--keep-none is an option of nds, not of {benchmark}")
        out = out if out is not None else Path(default_out)
        if benchmark == "nb101":
            from .spaces.nb101.importer import import_nb101  # imported here so `lrnas --help` stays fast

            summary = import_nb101(tfrecord, out, force=force)
        else:
            from .spaces.darts.importer import import_nds

            summary = import_nds(json_path, out, force=force, keep_none=keep_none)
    except (ValueError, OSError) as error:  # bad input (incl. corrupt files) and unreadable/unwritable paths
        if os.environ.get("LRNAS_DEBUG") == "1":
            traceback.print_exc()
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(summary)


if __name__ == "__main__":
    cli()
