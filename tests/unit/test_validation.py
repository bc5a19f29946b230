"""Bad input fails before any work: one line naming the key, the value and what is allowed (bad_inputs.csv here)."""

import csv
import gzip
import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import compose_config
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.benchmarks import GroundTruthError
from lrnas.spaces.nb201 import benchmark as nb201
from lrnas.spaces.nb201.benchmark import load_nb201
from lrnas.validation import preflight, rules_of

TABLE = Path(__file__).with_name("bad_inputs.csv")
SHIPPED_TABLE = nb201.TABLE_PATH
ROWS = list(csv.DictReader(TABLE.open(newline="")))
GOOD = ("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
# The landmark files the table's {tmp} rows name (missing.csv and no_cifar stay absent on purpose).
FILES = {
    "bad_arch.csv": "arch,accuracy\n|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|,93.1\n",
    "out_of_space.csv": "arch,accuracy\n|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|conv_5x5~2|,"
                        "93.1\n",
    "three.csv": "arch,accuracy\n" + "".join(f"{arch},{90 + i}\n" for i, arch in enumerate(GOOD)),
}


@pytest.fixture
def tmp(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def filled(row: dict, tmp) -> tuple[list[str], str]:
    return shlex.split(row["overrides"].replace("{tmp}", str(tmp))), row["error"].replace("{tmp}", str(tmp))


def test_table_lists_enough_bad_inputs():
    assert len(ROWS) >= 25 and all(row["overrides"] and row["error"] for row in ROWS)
    assert len({row["overrides"] for row in ROWS}) == len(ROWS), "a row is repeated"


def every_option() -> list[str]:
    """``group=option`` for every option of every group in conf/ but `lrnas landmarks build`'s recipes (the build
    checks those) and the sweeps (they set hydra.*)."""
    return [f"{d.name}={p.stem}" for d in sorted(CONFIG_DIR.iterdir()) if d.is_dir()
            and d.name not in ("standalone", "sweep") for p in sorted(d.glob("[!_]*.yaml"))]


@pytest.fixture(scope="module")
def composed_options() -> dict[str, dict]:
    """Each option's resolved config, composed once (a `???` stays the string "???")."""
    return {option: OmegaConf.to_container(compose_config(option), resolve=True) for option in every_option()}


def test_every_rule_has_a_rejected_value_in_the_table(composed_options):
    """A rule nobody feeds a bad value could be disabled unnoticed. ``X.name`` is set by its config group ``X``."""
    overridden = {token.lstrip("+~").partition("=")[0] for row in ROWS for token in shlex.split(row["overrides"])}
    keys = {f"{group}.{key}" if group else key for values in composed_options.values()
            for group, rules in rules_of(values).items() for key in rules}
    untested = sorted(key for key in keys if key not in overridden and key.removesuffix(".name") not in overridden)
    assert not untested, f"add a row to {TABLE.name} for: {', '.join(untested)}"


@pytest.mark.parametrize("row", ROWS, ids=[row["overrides"] for row in ROWS])
def test_bad_input_gives_its_exact_line(row, tmp):
    overrides, expected = filled(row, tmp)
    with pytest.raises((ValueError, GroundTruthError)) as err:
        preflight(overrides)
    assert str(err.value) == expected


def run_cli(overrides: list[str], tmp, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrnas.cli", "train", *overrides], cwd=tmp, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "LRNAS_CACHE": str(tmp / "cache"), **env})


CLI_ROWS = ["-m seed=0,1 trainer.lr=0.1,-1", "landmarks=randmo", "landmarks=file landmarks.path={tmp}/bad_arch.csv"]


@pytest.mark.parametrize("row", [row for row in ROWS if row["overrides"] in CLI_ROWS], ids=CLI_ROWS)
def test_cli_prints_one_line_and_exits_2(row, tmp):
    overrides, expected = filled(row, tmp)
    result = run_cli(overrides, tmp, LRNAS_DEBUG="0")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {expected}"
    assert "Traceback" not in result.stderr
    assert not (tmp / "outputs").exists() and not (tmp / "multirun").exists()  # no job started


def test_cli_debug_shows_the_traceback(tmp):
    result = run_cli(["trainer.batch_size=0"], tmp, LRNAS_DEBUG="1")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: trainer.batch_size=0 is invalid: must be an integer >= 1"


def test_cli_hands_hydra_flags_to_hydra(tmp):
    result = run_cli(["--cfg", "job", "trainer.lr=-1"], tmp)  # printing a config validates nothing
    assert result.returncode == 0, result.stderr
    assert "lr: -1" in result.stdout


@pytest.mark.parametrize("flags", [["--help"], ["--hydra-help"], ["--cfg", "job", "trainer.lr=-1"], ["--info"],
                                   ["--config-name", "other", "trainer.lr=-1"]])
def test_hydra_only_commands_validate_nothing(flags):
    assert preflight(flags) == 0


@pytest.mark.parametrize(("overrides", "jobs"), [
    ("", 1),
    ("experiment=smoke", 1),
    ("-m seed=range(0,5) trainer.lr=0.1,0.2", 10),
    ("-m landmarks=random,fixed,hamming regularizer=landmark seed=0,1", 6),
    ("-m landmarks=glob(*,exclude=[_refine,file,none]) regularizer=landmark", 3),
    ("-m experiment=smoke,cpu,cpu_landmark,paper_nb201_spos", 4),
    ("-m experiment=cpu_landmark regularizer.penalty=choice(hinge,softplus) landmarks.refine.rounds=2", 2),
    ("landmarks=file landmarks.path={tmp}/three.csv regularizer=landmark +my_note=baseline hydra.job.chdir=true", 1),
    ("data.root={tmp} trainer.train_images=null eval.at_epochs=[1,2] device=cuda:1", 1),
])
def test_valid_commands_pass_and_count_jobs(overrides, jobs, tmp):
    assert preflight(shlex.split(overrides.replace("{tmp}", str(tmp)))) == jobs


SWEEPS = {"smoke": 2, "table_nb201": 24, "table_nb101": 12, "ablation_landmarks": 15, "ablation_lambda": 12,
          "ablation_schedule": 15, "ablation_penalty": 9, "ablation_penalty_softplus": 12, "ablation_selection": 9,
          "ablation_pairs": 12, "table_nb201_cpu": 6, "table_nb101_cpu": 12,
          "proxy_landmarks_plain_cpu": 3, "budget_nb201_cpu": 9, "budget_nb201": 6,
          "warm_start_nb201": 2}
# Read the landmark files their make targets build first; test_make_targets.py builds them and validates the jobs.
NEEDS_BUILT_LANDMARKS = {"landmark_fidelity_cpu", "proxy_landmarks_cpu"}
# Starts every job from warm_start_nb201's run of its seed (trainer.init_from): 4 distances or 6 root counts x 3 sets
# x 2 seeds.
NEEDS_WARM_UP = {"ablation_distance": 24, "ablation_roots": 36}


def test_every_sweep_file_is_listed():
    assert sorted([*SWEEPS, *NEEDS_BUILT_LANDMARKS, *NEEDS_WARM_UP]) == sorted(
        p.stem for p in (CONFIG_DIR / "sweep").glob("*.yaml"))


@pytest.mark.parametrize("name", NEEDS_WARM_UP)
def test_every_job_of_a_warm_started_sweep_validates_once_its_warm_up_exists(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"trainer.init_from='outputs/sweeps/warm_start_nb201/seed0' is invalid"):
        preflight(["-m", f"+sweep={name}"])
    for seed in (0, 1):  # what warm_start_nb201 leaves: each seed's config and checkpoint
        folder = tmp_path / f"outputs/sweeps/warm_start_nb201/seed{seed}"
        folder.mkdir(parents=True)
        OmegaConf.save(compose_config("+sweep=warm_start_nb201", "experiment=paper_nb201_spos", f"seed={seed}"),
                       folder / "config.yaml", resolve=True)
        (folder / "checkpoint.pt").touch()
    assert preflight(["-m", f"+sweep={name}"]) == NEEDS_WARM_UP[name]


@pytest.mark.parametrize("name", SWEEPS)
def test_every_job_of_every_sweep_file_validates(name):
    """Each job of conf/sweep/NAME.yaml passes validation before any starts: job counts are the sweep's product."""
    assert preflight(["-m", f"+sweep={name}"]) == SWEEPS[name]


def test_a_sweep_files_params_yield_to_the_command_line():
    assert preflight(["-m", "+sweep=table_nb201", "seed=0"]) == 8  # seed=0,1,2 in the file
    with pytest.raises(ValueError, match=r"^\+sweep=table_nb201 is a sweep: add -m to run its jobs$"):
        preflight(["+sweep=table_nb201"])
    with pytest.raises(ValueError, match=r"^sweep='tabel' is not an option; valid: ablation_distance, ablation_lambda"):
        preflight(["-m", "+sweep=tabel"])
    with pytest.raises(ValueError, match=r"trainer.lr=-1 is invalid"):
        preflight(["-m", "+sweep=smoke", "trainer.lr=-1"])


def test_resuming_a_sweep_job_runs_that_job_not_the_sweep(tmp_path):
    from lrnas.resume import expand_resume

    (tmp_path / "run_info.json").write_text('{"overrides": ["+sweep=smoke", "experiment=smoke", "seed=1"]}')
    assert expand_resume([f"resume={tmp_path}"]) == ["experiment=smoke", "seed=1", f"hydra.run.dir={tmp_path}"]


def key_paths(node: dict, prefix: str = "", leaves_only: bool = False) -> set[str]:
    paths = set()
    for name, value in node.items():
        if isinstance(value, dict) and value:
            paths |= key_paths(value, f"{prefix}{name}.", leaves_only) | (set() if leaves_only else {prefix + name})
        else:
            paths.add(prefix + name)
    return paths


def under_null(node: dict, key: str) -> bool:
    parent, _, _ = key.rpartition(".")
    for part in parent.split(".") if parent else []:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return True
    return False


@pytest.mark.parametrize("option", every_option())
def test_each_option_declares_a_rule_for_exactly_its_keys(option, composed_options):
    """Each selected option's owner declares its keys (lrnas.config_rules): a key in conf/ without a rule would go
    unchecked, a rule for a key no option has is dead."""
    values = composed_options[option]
    for group, rules in rules_of(values).items():
        node = {k: v for k, v in values.items() if not isinstance(v, dict)} if group == "" else values[group]
        unchecked = key_paths(node, leaves_only=True) - set(rules)
        assert not unchecked, f"{option}: {group}.* keys without a rule: {sorted(unchecked)}"
        dead = {key for key in rules if key not in key_paths(node) and not under_null(node, key)}
        assert not dead, f"{option}: rules for {group}.* keys it does not have: {sorted(dead)}"


@pytest.fixture
def table_copy(tmp_path, monkeypatch):
    """The loader pointed at a copy of the shipped table, with its per-process cache emptied before and after."""
    copy = tmp_path / "nb201.csv.gz"
    monkeypatch.setattr(nb201, "TABLE_PATH", copy)
    load_nb201.cache_clear()
    yield copy
    load_nb201.cache_clear()


def test_an_edited_table_fails_its_checksum(table_copy):
    # A changed accuracy still parses: only the checksum can tell.
    text = gzip.decompress(SHIPPED_TABLE.read_bytes())
    assert b",94.3733," in text
    table_copy.write_bytes(gzip.compress(text.replace(b",94.3733,", b",99.9999,"), mtime=0))
    actual = hashlib.sha256(table_copy.read_bytes()).hexdigest()
    expected = (f"NAS-Bench-201 table {table_copy} is corrupt: sha256 {actual}, expected {nb201.TABLE_SHA256}; "
                "reinstall lrnas or rebuild it with `make table`")
    with pytest.raises(GroundTruthError) as err:
        load_nb201()
    assert str(err.value) == expected
    with pytest.raises(GroundTruthError) as err:  # before any work, through the command line's check
        preflight(["experiment=smoke"])
    assert str(err.value) == expected


def test_a_missing_table_is_one_line(table_copy):
    with pytest.raises(GroundTruthError) as err:
        load_nb201()
    assert str(err.value) == (f"cannot load NAS-Bench-201 table {table_copy}: No such file or directory; "
                              "reinstall lrnas or rebuild it with `make table`")


def test_the_shipped_table_passes_its_checksum(table_copy):
    table_copy.write_bytes(SHIPPED_TABLE.read_bytes())
    assert len(load_nb201()) == 15625
