"""`lrnas train` that signals itself at an exact point of the run: the resume tests' kill points, with no timing race.

    python tests/e2e/interrupt.py SIGKILL step:3:2 experiment=smoke hydra.run.dir=run   # after epoch 3's step 2
    python tests/e2e/interrupt.py SIGTERM eval:1 resume=run                         # as epoch 1's evaluation starts

Points: ``step:E:S`` (after optimizer step S of epoch E, before that step's checkpoint), ``eval:E`` and ``refine:E``
(as epoch E's evaluation or refinement starts) and ``search`` (as the search phase starts). SIGKILL ends the process
there; SIGTERM/SIGINT reach lrnas's own handlers, as a Slurm pre-emption or a Ctrl-C would.
"""
import inspect
import os
import signal
import sys

from lrnas import cli, train, training
from lrnas.run import epoch as phases


def arm(signum: int, point: str) -> None:
    kind, *numbers = point.split(":")
    target = tuple(map(int, numbers))
    epoch = {"now": 0}

    def fire() -> None:
        os.kill(os.getpid(), signum)

    def at_epoch(function):
        def wrapped(*args, **kwargs):
            if (epoch["now"],) == target:
                fire()
            return function(*args, **kwargs)
        return wrapped

    one_epoch = train.train_one_epoch

    def train_one_epoch(run, number, *args):
        epoch["now"] = number
        return one_epoch(run, number, *args)

    train.train_one_epoch = train_one_epoch
    if kind == "step":
        train_epoch = training.SuperNetTrainer.train_epoch
        signature = inspect.signature(train_epoch)

        def signalled_train_epoch(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            after_step = bound.arguments["after_step"]

            def signalled_after_step(progress, verify):
                if (progress.epoch, progress.step) == target:
                    fire()
                after_step(progress, verify)

            bound.arguments["after_step"] = signalled_after_step
            return train_epoch(*bound.args, **bound.kwargs)

        training.SuperNetTrainer.train_epoch = signalled_train_epoch
    elif kind == "eval":
        phases.evaluate_ranking = at_epoch(phases.evaluate_ranking)
    elif kind == "refine":
        phases.refine_landmarks = at_epoch(phases.refine_landmarks)
    elif kind == "search":
        search = phases.search_supernet

        def signalled_search(*args, **kwargs):
            fire()
            return search(*args, **kwargs)

        phases.search_supernet = signalled_search
    else:
        raise SystemExit(f"unknown point {point!r}; valid: step:E:S, eval:E, refine:E, search")


if __name__ == "__main__":
    signame, point, *overrides = sys.argv[1:]
    arm(signal.Signals[signame], point)
    cli.cli.main(args=["train", *overrides], prog_name="lrnas")
