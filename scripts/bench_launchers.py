"""Benchmark: one sweep job with every core, or one job per core (LAUNCHER=basic against LAUNCHER=joblib).

Trains the C=16, N=1 NB201 super-net (plain SPOS steps, batch 256, random data) for --steps steps in one process with
all of torch's threads, then in --jobs processes at once with cpu_count // jobs threads each (what joblib's loky
backend gives them), and prints images per second of each and their ratio. Run it on a quiet machine.

    python scripts/bench_launchers.py                # measured on a 2-core CPU: 1173 vs 562 + 573 img/s, 0.97x
    python scripts/bench_launchers.py --steps 50 --jobs 4
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

import torch


def train_steps(steps: int, batch: int) -> float:
    """Images per second over ``steps`` SPOS steps, after 3 warm-up steps."""
    from lrnas.spaces import build_supernet, get_space

    space = get_space("nb201")
    net = build_supernet("nb201", C=16, N=1, num_classes=10)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9)
    images = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (batch,))
    rng = random.Random(0)

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(images, space.sample_arch(rng)), labels).backward()
        optimizer.step()

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one measurement, printed
    args = parser.parse_args()
    if args.worker:
        print(train_steps(args.steps, args.batch))
        return
    cores = os.cpu_count() or 1
    alone = train_steps(args.steps, args.batch)
    threads = max(1, cores // args.jobs)
    command = [sys.executable, __file__, "--worker", f"--steps={args.steps}", f"--batch={args.batch}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(args.jobs)]
    rates = [float(worker.communicate()[0]) for worker in workers]
    print(f"one process, {torch.get_num_threads()} threads: {alone:.0f} img/s")
    print(f"{args.jobs} processes, {threads} thread(s) each: {' + '.join(f'{r:.0f}' for r in rates)} = "
          f"{sum(rates):.0f} img/s")
    print(f"ratio (jobs / one process): {sum(rates) / alone:.2f}x")


if __name__ == "__main__":
    main()
