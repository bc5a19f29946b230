"""The ``lrnas`` command.

    lrnas --help
    lrnas train --help            # Hydra's help: config groups and their options
    lrnas train experiment=smoke  # any Hydra overrides; -m for sweeps
"""
from __future__ import annotations

import sys

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
    from .train import main  # imported here so `lrnas --help` stays fast

    sys.argv = ["lrnas train", *overrides]
    main()


if __name__ == "__main__":
    cli()
