"""`lrnas landmarks build`: stand-alone trainings on tiny synthetic data write a file `landmarks=file` reads."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, compose_config
from scipy.stats import kendalltau

from lrnas.landmarks import LandmarkFileError, load_landmarks
from lrnas.resume import Interrupted
from lrnas.spaces import load_benchmark, nb101, nb201
from lrnas.standalone.build import COLUMNS, build, gather, read_arch_list
from lrnas.validation import ConfigError, preflight

TINY = ["standalone=nb201_cpu", "standalone.network.C=4", "standalone.epochs=2", "standalone.batch_size=32",
        "standalone.train_images=96", "standalone.test_images=64", "data.synthetic={train:256,test:128}",
        "landmarks.num_landmarks=3", "device=cpu"]


def build_config(out, *overrides, base=TINY):
    return compose_config(*base, f"build.out={out}", *overrides, config="build")


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A finished 3-architecture build (shared: tests that change a build copy it)."""
    out = tmp_path_factory.mktemp("build") / "built"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LRNAS_CACHE", str(out.parent / "cache"))
        build(build_config(out))
    return out


def test_build_writes_a_landmark_file_that_train_reads_as_it_is(built, tmp_path):
    rows = read_rows(built / "landmarks.csv")
    assert list(rows[0]) == list(COLUMNS)
    results = {r["arch"]: r for r in (json.loads((built / f"archs/{i:03d}/result.json").read_text()) for i in range(3))}
    assert sorted(results) == sorted(r["arch"] for r in rows)
    for row in rows:  # every row is its architecture's own training, with its provenance
        result = results[row["arch"]]
        assert float(row["accuracy"]) == result["accuracy"] and row["recipe"] == "nb201_cpu_2ep"
        provenance = (int(row["epochs"]), int(row["seed"]), row["data"])
        assert provenance == (2, 0, "synthetic 256/128: 96 train, 64 test images")
        assert len(result["history"]) == 2
    landmarks = load_landmarks(built / "landmarks.csv", validate_arch=nb201.parse_arch)
    assert [lm.arch for lm in landmarks] == [r["arch"] for r in rows]  # worst to best already
    assert [lm.accuracy for lm in landmarks] == sorted(float(r["accuracy"]) for r in rows)
    assert preflight(["experiment=smoke", "landmarks=file", f"landmarks.path={built / 'landmarks.csv'}"]) == 1
    summary = json.loads((built / "summary.json").read_text())
    truth = load_benchmark("nb201").accuracies([r["arch"] for r in rows], "cifar10_test")
    assert summary["kendall_tau_vs_cifar10_test"] == pytest.approx(
        kendalltau([float(r["accuracy"]) for r in rows], truth).statistic, nan_ok=True)


def test_build_chooses_the_landmarks_a_run_with_the_same_seed_draws(tmp_path):
    from lrnas.evaluation.ranking import draw_eval_sample
    from lrnas.landmarks import choose_landmarks

    out = tmp_path / "lookup"
    build(build_config(out, "standalone=benchmark", "seed=3", base=[]))
    cfg = compose_config("landmarks=random", "seed=3")
    benchmark = load_benchmark("nb201")
    plain = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, set(), "cifar10_test")
    drawn = choose_landmarks(cfg, benchmark, nb201, set(plain.archs))
    rows = read_rows(out / "landmarks.csv")
    assert {r["arch"] for r in rows} == {lm.arch for lm in drawn}
    twelve = benchmark.accuracies([r["arch"] for r in rows], "cifar10_test_12ep")
    assert [float(r["accuracy"]) for r in rows] == twelve.tolist()  # NB201's own 12-epoch results, no training
    assert {(r["recipe"], r["epochs"]) for r in rows} == {("benchmark-cifar10_test_12ep", "12")}
    summary = json.loads((out / "summary.json").read_text())
    truth = benchmark.accuracies([r["arch"] for r in rows], "cifar10_test")
    assert summary["kendall_tau_vs_cifar10_test"] == pytest.approx(kendalltau(twelve, truth).statistic)


def test_killed_build_resumes_exactly_and_skips_finished_archs(built, tmp_path, isolated_cache, monkeypatch):
    """SIGTERM in the second architecture's training: a checkpoint, one line, and a rerun that ends where the
    uninterrupted build did, without retraining the first architecture."""
    out = tmp_path / "killed"
    steps = {"n": 0}
    real_step = torch.optim.lr_scheduler.CosineAnnealingLR.step

    def step_then_signal(self, *args, **kwargs):
        real_step(self, *args, **kwargs)
        steps["n"] += 1
        # The scheduler steps once when built, then per batch: arch 0 takes 1 + 2 epochs x 3 steps (96 images, batch
        # 32); the signal comes at the second architecture's fourth step, the first of its second epoch.
        if steps["n"] == 7 + 1 + 4:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(torch.optim.lr_scheduler.CosineAnnealingLR, "step", step_then_signal)
    cfg = build_config(out)
    with pytest.raises(Interrupted, match="in arch 2/3 at epoch 2, step 1; checkpoint saved. Resume with: the same"):
        build(cfg)
    monkeypatch.setattr(torch.optim.lr_scheduler.CosineAnnealingLR, "step", real_step)
    first = (out / "archs/000/result.json").stat().st_mtime_ns
    assert not (out / "archs/001/result.json").exists() and (out / "archs/001/checkpoint.pt").exists()
    build(cfg)
    assert (out / "archs/000/result.json").stat().st_mtime_ns == first  # skipped, not retrained
    without_time = lambda rows: [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]  # noqa: E731
    assert without_time(read_rows(out / "landmarks.csv")) == without_time(read_rows(built / "landmarks.csv"))
    for i in range(3):  # every epoch's training loss as in the uninterrupted build, not only the accuracy
        histories = [json.loads((folder / f"archs/{i:03d}/result.json").read_text())["history"]
                     for folder in (out, built)]
        assert histories[0] == histories[1]


def test_a_sweep_runs_one_job_per_architecture_and_the_last_one_gathers(tmp_path, isolated_cache):
    out = tmp_path / "swept"
    command = [sys.executable, "-m", "lrnas.cli", "landmarks", "build", "-m", *TINY, "landmarks.num_landmarks=2",
               "build.only=0,1", f"build.out={out}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "LRNAS_CACHE": str(isolated_cache)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.parent.name for p in out.glob("archs/*/result.json")) == ["000", "001"]
    assert "1 of 2 landmarks built" in result.stderr and "wrote" in result.stderr.split("1 of 2 landmarks built")[1]
    assert len(read_rows(out / "landmarks.csv")) == 2


def test_a_folder_holds_one_build(built, tmp_path):
    copy = shutil.copytree(built, tmp_path / "copy")
    with pytest.raises(ConfigError, match=r"holds another build \(its recipe differ\); choose another build.out"):
        build(build_config(copy, "standalone.epochs=3"))
    written = (copy / "landmarks.csv").read_text()
    (copy / "landmarks.csv").unlink()
    assert gather(copy) == copy / "landmarks.csv"  # `lrnas landmarks gather` writes it again from the results
    assert (copy / "landmarks.csv").read_text() == written


@pytest.mark.parametrize(("overrides", "message"), [
    (["build.only=3"], "build.only=3 is invalid: must be null or an integer in 0..2 (the 3 archs)"),
    (["build.only=true"], "build.only=true is invalid: must be null or an integer in 0..2"),
    (["build.only=1.5"], "build.only=1.5 is invalid: must be null or an integer in 0..2"),
    (["seed=-1"], "seed=-1 is invalid: must be an integer in 0..4294967295"),
    (["standalone.network._target_=lrnas.spaces.nb201.network.Nope"], "standalone.network "
                                                                  "(lrnas.spaces.nb201.network.Nope) cannot build"),
    (["+standalone.network.width=3"], "standalone.network (lrnas.spaces.nb201.network.NB201Network) cannot build a "
                                      "network: "),
    (["+standalone.optimizer.betas=3"], "standalone.optimizer (torch.optim.SGD) cannot be made: "),
    (["space=nb101", "standalone.references=[]"], "standalone.network (lrnas.spaces.nb201.network.NB201Network) "
                                                  "cannot build a network: "),
    (["standalone.references=[cifar10_tst]"], "standalone.references='cifar10_tst' is invalid: must be one of"),
    (["standalone.epochs=0"], "standalone.epochs=0 is invalid: must be an integer >= 1"),
    (["standalone.train_images=1000"], "standalone.train_images=1000 is invalid: must be null or an integer in 1..256"),
    (["landmarks=file", "landmarks.path=x.csv"], "landmarks=file does not choose architectures to build; use "
                                                 "landmarks=random|fixed|hamming, or build.archs=PATH"),
])
def test_bad_input_is_one_line_before_any_training(tmp_path, isolated_cache, overrides, message):
    with pytest.raises(ValueError) as error:
        build(build_config(tmp_path / "bad", *overrides))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not list(tmp_path.glob("bad/archs/*/result.json"))


def test_a_lookup_column_must_be_in_the_table(tmp_path):
    with pytest.raises(ValueError) as error:
        build(build_config(tmp_path / "bad", "standalone=benchmark", "standalone.column=cifar10", base=[]))
    message = "standalone.column='cifar10' is invalid: must be one of"
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not list(tmp_path.glob("bad/archs/*/result.json"))


def test_arch_lists_one_per_line_or_a_landmark_file(tmp_path):
    cells = [nb101.format_arch(nb101.sample_arch(__import__("random").Random(i))) for i in range(2)]
    listed = tmp_path / "cells.txt"
    listed.write_text("\n".join(cells) + "\n")  # NB101 keys hold commas: a plain list is not CSV
    assert read_arch_list(listed, nb101.parse_arch) == cells
    csv_file = tmp_path / "lm.csv"
    csv_file.write_text("arch,accuracy\n" + "".join(f'"{c}",90\n' for c in cells))
    assert read_arch_list(csv_file, nb101.parse_arch) == cells
    listed.write_text(f"{cells[0]}\nnot-a-cell\n")
    with pytest.raises(LandmarkFileError, match=r"cells.txt:2: arch 'not-a-cell' is invalid"):
        read_arch_list(listed, nb101.parse_arch)
    listed.write_text(f"{cells[0]}\n{cells[0]}\n")
    with pytest.raises(LandmarkFileError, match=r"cells.txt:2: arch .* is repeated; expected each architecture once"):
        read_arch_list(listed, nb101.parse_arch)
    csv_file.write_text(f'arch,accuracy\n\n"{cells[0]}",90\n\n"{"0" * 49}:{",".join(["maxpool3x3"] * 5)}",91\n')
    with pytest.raises(LandmarkFileError, match=r"lm.csv:5: arch .* input is not connected to output"):
        read_arch_list(csv_file, lambda text: nb101.validate(nb101.parse_arch(text)))  # line numbers count blanks


def test_nb101_build_trains_nasbench_pytorch_networks(tmp_path, isolated_cache):
    out = tmp_path / "nb101"
    cells = tmp_path / "cells.txt"
    chain = "0100000001000000010000000100000001000000010000000:"
    cells.write_text(f"{chain}conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,conv1x1-bn-relu\n"
                     f"{chain}conv1x1-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu,conv1x1-bn-relu\n")
    build(build_config(out, "space=nb101", "standalone=nb101_cpu", "standalone.network.stem_channels=4",
                       "standalone.train_images=64", "standalone.test_images=64", "standalone.batch_size=32",
                       f"build.archs={cells}", base=[o for o in TINY if not o.startswith("standalone")]))
    rows = read_rows(out / "landmarks.csv")
    assert len(rows) == 2 and {r["recipe"] for r in rows} == {"nb101_cpu_1ep"}
    assert load_landmarks(out / "landmarks.csv", validate_arch=nb101.parse_arch)


def test_cli_says_what_is_wrong_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lrnas.cli", "landmarks", "gather", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "has no build.json" in result.stderr


def test_a_non_finite_loss_stops_the_training_naming_its_step_and_keeps_no_checkpoint_of_it(tmp_path, isolated_cache):
    from lrnas.training import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match=r"arch 1/3: epoch 1: non-finite loss at step [1-3]; lower "):
        build(build_config(tmp_path / "nan", "standalone.optimizer.lr=1e30"))
    assert not (tmp_path / "nan/archs/000/checkpoint.pt").exists()


def test_a_proxy_build_ranks_landmarks_by_a_score_at_initialisation(tmp_path, monkeypatch):
    # the params proxy of NB201's own network is the table's parameter count: a score checkable without training
    monkeypatch.setenv("LRNAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "proxy"
    build(build_config(out, "standalone=proxy", "standalone.proxy=params", "landmarks.num_landmarks=5",
                       base=["data.synthetic={train:256,test:128}", "device=cpu"]))
    rows = read_rows(out / "landmarks.csv")
    table = load_benchmark("nb201", None)
    assert [float(row["accuracy"]) for row in rows] == pytest.approx(list(table.params([r["arch"] for r in rows])))
    assert [float(row["accuracy"]) for row in rows] == sorted(float(row["accuracy"]) for row in rows)
    assert {(row["recipe"], row["epochs"]) for row in rows} == {("proxy-params", "0")}
    assert preflight(["experiment=smoke", "landmarks=file", f"landmarks.path={out / 'landmarks.csv'}"]) == 1


@pytest.mark.parametrize(("override", "message"), [
    ("standalone.proxy=zen", "standalone.proxy='zen' is invalid: must be one of params, flops, naswot, synflow"),
    ("standalone.network_recipe=benchmark", "standalone.network_recipe='benchmark' is invalid: must be a stand-alone"),
])
def test_a_proxy_build_names_a_bad_proxy_or_recipe(tmp_path, override, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        build(build_config(tmp_path / "bad", "standalone=proxy", override,
                           base=["data.synthetic={train:256,test:128}"]))
