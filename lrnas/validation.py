"""Check a run's configuration before any work, so a typo in a sweep fails in seconds, not after hours of training.

``preflight`` runs before Hydra starts (``lrnas train``): it expands the command line's sweep into every job, composes
each job's config and hands it to ``validate_config``. Every failure is a ``ConfigError`` whose message is one line
naming the key, the bad value and what is allowed, e.g.

    trainer.batch_size=0 is invalid: must be an integer >= 1
    algorithm='foo' is not an option; valid: spos
    trainer.lrr is not a config key; did you mean trainer.lr?

``validate_config(cfg)`` can also be called on any composed config (it is what ``preflight`` runs per job). Two
other one-line errors can surface from it: ``GroundTruthError`` (missing or corrupt benchmark table) and
``LandmarkFileError`` (a malformed ``landmarks=file`` CSV).

The rule of each key lives beside the code that reads it (lrnas.config_rules): ``rules_of`` gathers the rules of the
options a config selects, so an algorithm or a space brings its own keys' rules. What depends on several keys, the
space's size, the ground truth or a landmark file is checked here, or by the algorithm's and space's check_config.
"""
from __future__ import annotations

import copy
import difflib
import importlib.util
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from . import device, resume, seeding
from .algorithms import ALGORITHMS, get_algorithm
from .conf import CONFIG_DIR
from .config_rules import ConfigError, Rule, check, invalid, lookup, show, text
from .data.load import CONFIG_RULES as DATA_RULES
from .evaluation.free_rankings import has_network
from .evaluation.ranking import CONFIG_RULES as EVAL_RULES
from .evaluation.ranking import MIN_EVAL_BATCH
from .landmarks.refinement import REFINE_RULES
from .landmarks.regularizer import REGULARIZER_RULES, lambda_at, schedule_epochs
from .landmarks.selection import METHOD_RULES, landmarks_from_config
from .run.warm_start import check_init_from
from .search import SEARCH_RULES
from .spaces import SPACE_RULES, get_space, load_benchmark
from .training import TRAINER_RULES

__all__ = ["ConfigError", "preflight", "rules_of", "validate_config"]

CIFAR10_TRAIN_IMAGES = 50_000  # the training set that lrnas.data splits into weights and held-out halves
# Keys that name their group's option: overriding one alone would leave the option's other keys behind.
SELECTORS = {"space.name": "space", "algorithm.name": "algorithm", "landmarks.method": "landmarks",
             "regularizer.name": "regularizer", "search.name": "search"}
# The groups whose option a key names (one_of its owner's options), and those options' rules.
OPTION_RULES = {"landmarks.method": METHOD_RULES, "regularizer.name": REGULARIZER_RULES, "search.name": SEARCH_RULES}


def rules_of(values: dict) -> dict[str, dict[str, Rule]]:
    """Group -> the rules of its keys, as the selected options' owners declare them (lrnas.config_rules lists the
    owners); "" is the top level. A space or algorithm that is neither lrnas's nor importable is a ConfigError."""
    selectors = {selector: Rule(f"one of {', '.join(options)}", options.__contains__)
                 for selector, options in OPTION_RULES.items()}
    # A space or an algorithm is lrnas's or a dotted path: get_space and get_algorithm name what is wrong.
    selectors |= {"space.name": text(), "algorithm.name": text()}
    check(values, "", selectors)
    space, algorithm = get_space(values["space"]["name"]), get_algorithm(values["algorithm"]["name"])
    method = values["landmarks"]["method"]
    rules = {
        "": {**seeding.CONFIG_RULES, **resume.CONFIG_RULES, **device.CONFIG_RULES},
        "space": {**SPACE_RULES, **space.CONFIG_RULES},
        "algorithm": algorithm.config_rules,
        "data": DATA_RULES,
        "trainer": TRAINER_RULES,
        "eval": EVAL_RULES,
        "landmarks": {**METHOD_RULES[method], **({f"refine.{k}": r for k, r in REFINE_RULES.items()}
                                                 if method != "none" else {})},
        "regularizer": REGULARIZER_RULES[values["regularizer"]["name"]],
        "search": SEARCH_RULES[values["search"]["name"]],
    }
    for selector, rule in selectors.items():
        group, key = selector.split(".")
        rules[group] = {key: rule, **rules[group]}
    return rules


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (or GroundTruthError / LandmarkFileError) if ``cfg`` cannot run; cheap, no training."""
    try:
        values = OmegaConf.to_container(cfg, resolve=True)  # a `???` stays the string "???"
    except OmegaConfBaseException as err:
        raw = lookup(OmegaConf.to_container(cfg), err.full_key)
        raise ConfigError(f"{err.full_key}={show(raw)} cannot be resolved: {_first_line(err)}") from None
    for group, rules in rules_of(values).items():
        check(values, group, rules)
    _check_relations(values)


def _check_relations(values: dict) -> None:
    """Limits that depend on other keys, the size of the space, the ground truth and the landmark file."""
    space_name, trainer, evaluation = values["space"]["name"], values["trainer"], values["eval"]
    space = get_space(space_name)
    table = values["space"].get("table")
    if table is not None and not Path(table).is_file():
        raise invalid("space.table", table, "an existing ground-truth table file (from `lrnas bench import`) or null")
    benchmark = load_benchmark(space_name, table)  # a missing or corrupt table fails here, not after training
    if benchmark is None:
        raise invalid("space.table", None, f"a ground-truth table with space={space_name}, which ships none: one from "
                      f"`lrnas bench import`, or the landmarks.csv of `lrnas landmarks build space={space_name}` "
                      "(evaluation then ranks the built architectures that are not landmarks)")
    if values["space"]["ground_truth"] not in benchmark.metrics:
        raise invalid("space.ground_truth", values["space"]["ground_truth"],
                      f"one of {', '.join(benchmark.metrics)} (the {space_name} ground truth)")
    epochs = trainer["epochs"]
    if trainer["schedule_epochs"] is not None and trainer["schedule_epochs"] < epochs:
        raise invalid("trainer.schedule_epochs", trainer["schedule_epochs"],
                      f"null or an integer >= trainer.epochs={epochs} (the lr cosine spans the run or more)")
    check_init_from(values)
    if not all(1 <= e <= epochs for e in evaluation["at_epochs"]):
        raise invalid("eval.at_epochs", evaluation["at_epochs"], f"a list of epochs in 1..{epochs} (trainer.epochs)")
    if evaluation["num_archs"] != "all" and evaluation["top_k"] > evaluation["num_archs"]:
        raise invalid("eval.top_k", evaluation["top_k"], f"an integer in 1..{evaluation['num_archs']} (eval.num_archs)")
    if evaluation["proxies"] and not has_network(evaluation["proxy_recipe"]):
        raise invalid("eval.proxy_recipe", evaluation["proxy_recipe"], "a stand-alone recipe with a network, whose "
                      "networks eval.proxies scores (conf/standalone/: nb201, nb201_cpu, nb101, darts, ...)")
    _check_eval_batches(values)

    algorithm = get_algorithm(values["algorithm"]["name"])
    algorithm.check_config(values)
    if evaluation["pool"] == "alpha_refresh" and not algorithm.differentiable:
        raise invalid("eval.pool", "alpha_refresh", f"fixed with algorithm={values['algorithm']['name']} (the "
                      "authors' pool follows the alpha of a differentiable algorithm: gdas, pcdarts)")
    if algorithm.differentiable and space.RELAXED_OPS is None:
        sampling = ", ".join(sorted(name for name, known in ALGORITHMS.items() if not known.differentiable))
        raise invalid("algorithm", values["algorithm"]["name"], f"one of {sampling} with space={space_name} (it "
                      "defines no continuous relaxation for the differentiable algorithms)")
    if values["landmarks"]["method"] == "hamming":
        if space.one_edit is None:
            raise invalid("landmarks", "hamming", f"random, fixed, file or none with space={space_name} (it defines "
                          "no one-edit walk: one_edit, edit_distance)")
        if values["landmarks"]["distance"] >= space.NUM_EDGES:
            raise invalid("landmarks.distance", values["landmarks"]["distance"],
                          f"an integer in 0..{space.NUM_EDGES - 1} (the space's edges)")
    if space.check_config:
        space.check_config(values)
    search = values["search"]
    if search["top_k"] > search["candidates"]:
        raise invalid("search.top_k", search["top_k"], f"an integer in 1..{search['candidates']} (search.candidates)")
    if search["candidates"] > space.NUM_ARCHS:
        raise invalid("search.candidates", search["candidates"], f"an integer in 1..{space.NUM_ARCHS} (the size of "
                      "the space)")
    if search["name"] == "evolution":
        if search["parents"] > search["population"]:
            raise invalid("search.parents", search["parents"], f"an integer in 2..{search['population']} "
                          "(search.population)")
        if search["mutations"] + search["crossovers"] > search["population"]:
            most = search["population"] - search["crossovers"]
            raise invalid("search.mutations", search["mutations"],
                          f"an integer in 0..{most} (search.mutations + search.crossovers <= search.population)")

    landmarks, regularizer = values["landmarks"], values["regularizer"]
    num_landmarks = _num_landmarks(landmarks, space, len(benchmark.landmark_pool))
    if regularizer["name"] == "landmark" and not num_landmarks:
        raise ConfigError("regularizer.name='landmark' needs landmarks; choose landmarks=random|fixed|hamming|file")
    pool = len(benchmark.eval_pool)
    if evaluation["unique"]:
        classes = benchmark.isomorphism_classes(benchmark.eval_pool)
        if classes is None:
            raise invalid("eval.unique", True, f"false with space={space_name} (its table has no isomorphism classes, "
                          "unique_key)")
        pool = len(set(classes))
    free = pool - num_landmarks  # the evaluation sample never contains a landmark
    if evaluation["num_archs"] == "all":
        if (landmarks.get("refine") or {}).get("rounds"):
            raise invalid("eval.num_archs", "all", "an integer with landmarks.refine.rounds > 0 (refinement queries "
                          "architectures outside the evaluation sample, and all leaves none)")
    elif evaluation["num_archs"] > free:
        raise invalid("eval.num_archs", evaluation["num_archs"],
                      f"an integer in 2..{free} (the {pool} {space_name} archs evaluation samples from minus "
                      f"{num_landmarks} landmarks)")
    if regularizer["name"] != "landmark":
        return
    _check_landmark_term(regularizer, trainer, values["data"])
    if regularizer["pair_procedure"] == "random_triplet" and num_landmarks < 3:
        raise invalid("regularizer.pair_procedure", "random_triplet",
                      f"random_pairs, all_pairs or adjacent_pairs with {num_landmarks} landmarks "
                      "(random_triplet needs >= 3)")
    refine = landmarks.get("refine")
    if refine and refine["rounds"]:
        if refine["add_top"] > refine["candidates"]:
            raise invalid("landmarks.refine.add_top", refine["add_top"],
                          f"an integer in 1..{refine['candidates']} (landmarks.refine.candidates)")
        # The last round draws candidates from what neither the evaluation sample nor the landmarks have taken.
        left = free - evaluation["num_archs"] - (refine["rounds"] - 1) * refine["add_top"]  # an integer here
        if refine["candidates"] > left:
            raise invalid("landmarks.refine.candidates", refine["candidates"],
                          f"an integer in {refine['add_top']}..{left} (the archs neither evaluated nor landmarks "
                          "in the last refinement round)")


def _check_eval_batches(values: dict) -> None:
    """Every evaluation batch needs MIN_EVAL_BATCH images (lrnas/evaluation/ranking.py says why): the batch size and
    every set of images that scores archs (the last batch takes a smaller remainder)."""
    at_least = (f"an integer >= {MIN_EVAL_BATCH} (BatchNorm scores with the statistics of each evaluation batch, "
                f"degenerate below {MIN_EVAL_BATCH} images)")
    evaluation = values["eval"]
    scored = {"eval.batch_size": evaluation["batch_size"], "eval.num_test_images": evaluation["num_test_images"]}
    if not get_algorithm(values["algorithm"]["name"]).differentiable:  # these search by alpha, scoring nothing
        scored["search.num_images"] = values["search"]["num_images"]
    refine = values["landmarks"].get("refine")
    if values["regularizer"]["name"] == "landmark" and refine and refine["rounds"]:
        scored["landmarks.refine.num_images"] = refine["num_images"]
    if values["data"]["synthetic"]:
        scored["data.synthetic.test"] = values["data"]["synthetic"]["test"]
    for key, count in scored.items():
        if count < MIN_EVAL_BATCH:
            raise invalid(key, count, at_least)


def _check_landmark_term(regularizer: dict, trainer: dict, data: dict) -> None:
    """Refuse a landmark run whose term never acts (λ_t = 0 in every epoch, or no step due): it would train a plain
    super-net and report it as a landmark run."""
    epochs, warmup, lam = trainer["epochs"], regularizer["warmup_epochs"], regularizer["lam"]
    if lam == 0:
        raise invalid("regularizer.lam", lam, "a number > 0 with regularizer=landmark (λ = 0 never applies the "
                      "landmark term; regularizer=none is the plain run)")
    if warmup >= epochs:
        raise invalid("regularizer.warmup_epochs", warmup,
                      f"an integer in 0..{epochs - 1} (below trainer.epochs={epochs}: λ is 0 during the warm-up, so "
                      f"the landmark term would never act; or raise trainer.epochs above {warmup})")
    span = regularizer.get("schedule_epochs")
    if span is not None and not warmup < span <= epochs:
        raise invalid("regularizer.schedule_epochs", span, f"null or an integer in {warmup + 1}..{epochs} (after "
                      f"regularizer.warmup_epochs={warmup}, within trainer.epochs={epochs})")
    schedule = [lambda_at(regularizer["schedule"], epoch, schedule_epochs(regularizer, epochs), warmup, lam,
                          regularizer["reach_nominal"], regularizer["ramp_epochs"]) for epoch in range(epochs)]
    if max(schedule) == 0:  # e.g. cosine_decrease over a single epoch after the warm-up ends at 0
        raise invalid("regularizer.schedule", regularizer["schedule"],
                      f"a schedule with λ > 0 in some epoch; with regularizer.warmup_epochs={warmup} and "
                      f"trainer.epochs={epochs} this one is 0 in every epoch: lower regularizer.warmup_epochs")
    # The term is applied at steps k, 2k, ... of each epoch; the weights half is every other CIFAR-10 training image.
    images = ((data["synthetic"]["train"] if data["synthetic"] else CIFAR10_TRAIN_IMAGES) + 1) // 2
    images = min(images, trainer["train_images"] or images)
    steps = images // trainer["batch_size"] if trainer["drop_last"] else -(-images // trainer["batch_size"])
    if 0 < steps < regularizer["every_k_steps"]:
        raise invalid("regularizer.every_k_steps", regularizer["every_k_steps"],
                      f"an integer in 1..{steps} (the steps per epoch: {images} training images / trainer.batch_size="
                      f"{trainer['batch_size']}); a larger k never applies the landmark term")


def _num_landmarks(landmarks: dict, space, pool_size: int) -> int:
    method = landmarks["method"]
    if method == "none":
        return 0
    if method == "file":
        path = landmarks["path"]
        if not Path(path).is_file():
            raise invalid("landmarks.path", path, "an existing CSV file with header arch,accuracy")
        # The run-time loader: every row must be an arch of the space; one-line LandmarkFileError otherwise.
        return len(landmarks_from_config(landmarks, None, 0, validate_arch=space.parse_arch, space=space))
    count = landmarks.get("num_landmarks")
    if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= pool_size:
        raise invalid("landmarks.num_landmarks", count,
                      f"an integer in 2..{pool_size} (the archs landmarks are drawn from)")
    if method == "hamming" and count % landmarks["num_roots"]:
        raise invalid("landmarks.num_roots", landmarks["num_roots"], f"a divisor of landmarks.num_landmarks={count}")
    return count


# --- preflight: the command line, before Hydra starts --------------------------------------------------------------

def preflight(overrides: list[str]) -> int:
    """Validate every job ``lrnas train <overrides>`` would run and return how many; ConfigError on the first bad one.

    Hydra's own flags are read as Hydra reads them; a command that only prints (--help, --cfg, --info, ...) or that
    points Hydra at another config (--config-dir/-path/-name) is left to Hydra and validates nothing (returns 0).
    ``hydra.*`` overrides configure Hydra, not the run, and are left to it too, but for ``hydra.searchpath``: the
    folders of the user's own config files (``'hydra.searchpath=[file://my_conf]'``), whose options join conf/'s.
    """
    # Hydra internals, on purpose: no public API parses argv as @hydra.main will or expands a sweep as its basic
    # sweeper will, and checking anything else would check another command. setup.cfg pins hydra-core to 1.3.x.
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.utils import get_args_parser  # Hydra's own argv parser: flags dropped exactly as Hydra does

    args = get_args_parser().parse_args(overrides)
    if args.multirun and (args.cfg or args.info):
        raise ConfigError("--cfg and --info print one composed config: drop -m (a sweep's launcher and params show "
                          "without it, e.g. `lrnas train +sweep=table_nb201 hydra/launcher=lrnas_slurm --cfg hydra`)")
    if (args.help or args.hydra_help or args.cfg or args.info or args.shell_completion or args.config_path
            or args.config_name or args.config_dir or args.experimental_rerun):
        return 0
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())  # loader: glob(*)
        every = _parse(parser, args.overrides)
        _check_output_folder(every, args.multirun)
        searched = [o for o in every if o.key_or_group == "hydra.searchpath" and not o.is_delete()][-1:]
        search_path = [o.input_line for o in searched]  # handed to every compose, as Hydra will read it
        groups = _config_groups([entry for o in searched for entry in o.value()])
        parsed = [o for o in every if not o.key_or_group.startswith(("hydra.", "hydra/"))]
        parsed = _with_sweep_params(parser, parsed, args.multirun, groups)
        for override in parsed:
            if override.is_sweep_override() and not args.multirun:
                raise ConfigError(f"{override.input_line} is a sweep: add -m to run one job per value, or write "
                                  f"{override.key_or_group}=[...] for a list")
            if override.key_or_group in groups:
                _check_group_option(override, groups[override.key_or_group])
        try:  # the sweep expands exactly as Hydra's basic sweeper will expand it
            jobs = BasicSweeper.split_arguments(parsed, max_batch_size=None)[0] if parsed else [[]]
        except HydraException as err:
            raise ConfigError(f"cannot expand the sweep: {_first_line(err)}") from None

        composed: dict[tuple[str, ...], tuple[DictConfig, dict]] = {}
        for job in jobs:
            job_overrides = _parse(parser, job)
            group_overrides = tuple(o.input_line for o in job_overrides if o.key_or_group in groups)
            if group_overrides not in composed:  # composing is the slow part: once per combination of group options
                composed[group_overrides] = _compose([*group_overrides, *search_path])
            base, choices = composed[group_overrides]
            cfg = copy.deepcopy(base)
            _apply_values(cfg, [o for o in job_overrides if o.key_or_group not in groups], choices, groups,
                          search_path)
            if any(o.key_or_group == "data.root" for o in job_overrides):
                _check_data_root(cfg)
            validate_config(cfg)
    return len(jobs)


def _check_output_folder(overrides: list[Override], multirun: bool) -> None:
    """The run (or sweep) folder can be made: else Hydra stops with a traceback before lrnas gets a say. Tried by making
    and removing a folder in its nearest existing parent (a permission check alone passes for root on read-only
    mounts). Without the override, conf/config.yaml puts runs under outputs/ in the working directory."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o for o in overrides if o.key_or_group == key and not o.is_delete()]
    folder = Path(str(given[-1].value())) if given else Path("outputs")
    parent = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
    shown = f"{key}={folder}" if given else f"the working directory {Path.cwd()}"
    if not parent.is_dir():
        raise ConfigError(f"{shown}: cannot create the run folder: {parent} is a file, not a folder")
    try:
        tempfile.TemporaryDirectory(dir=parent).cleanup()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot create the run folder in {parent} ({error.strerror}); choose a folder "
                          f"you can write ({key}=PATH)") from None


def _with_sweep_params(parser: OverridesParser, parsed: list[Override], multirun: bool,
                       groups: dict[str, dict[str, Path]]) -> list[Override]:
    """``+sweep=NAME`` (conf/sweep/NAME.yaml) adds its ``hydra.sweeper.params`` before the command line's overrides,
    as Hydra's basic sweeper does; a key given on the command line too takes the command line's value."""
    sweeps = [o for o in parsed if o.key_or_group == "sweep" and not o.is_delete()]
    if not sweeps:
        return parsed
    sweep = sweeps[-1]
    if sweep.is_sweep_override():
        raise ConfigError(f"{sweep.input_line}: run one sweep file at a time")
    _check_group_option(sweep, groups["sweep"])
    if not multirun:
        raise ConfigError(f"{sweep.input_line} is a sweep: add -m to run its jobs")
    params = OmegaConf.load(groups["sweep"][sweep.value()]).hydra.sweeper.params
    return _parse(parser, [f"{key}={value}" for key, value in params.items()]) + parsed


def _parse(parser: OverridesParser, overrides: list[str]) -> list[Override]:
    parsed = []
    for line in overrides:  # one at a time, so the error names the bad one
        try:
            parsed += parser.parse_overrides([line])
        except HydraException as err:
            # Hydra's message repeats the override and ends with a link; keep the line that says what is wrong.
            reason = next((said for said in str(err).splitlines() if said.strip() not in ("", "^")
                           and not said.startswith(("Error parsing override", "See https://"))), "bad syntax")
            raise ConfigError(f"cannot parse override {line!r}: {reason}") from None
    return parsed


def _config_groups(search_path: list[str] = ()) -> dict[str, dict[str, Path]]:
    """Each config group -> its options (yaml stems; `_name` files are shared parts, not options) and their files:
    conf/'s, and the groups in the folders of a ``hydra.searchpath=[...]`` override (``file://`` and ``pkg://``)."""
    folders = [CONFIG_DIR, *map(_search_folder, search_path)]
    groups: dict[str, dict[str, Path]] = {}
    for folder in reversed(folders):  # conf/ last: Hydra finds its options first, so they win a name clash
        for group in sorted(p for p in folder.iterdir() if p.is_dir()):
            options = groups.setdefault(group.name, {})
            options.update({p.stem: p for p in group.glob("*.yaml") if not p.stem.startswith("_")})
    return {group: dict(sorted(options.items())) for group, options in groups.items()}


def _search_folder(entry: str) -> Path:
    """The folder a ``hydra.searchpath`` entry names; one that does not exist is a one-line error."""
    scheme, _, where = str(entry).partition("://")
    if scheme == "pkg":
        spec = importlib.util.find_spec(where) if where else None
        folders = list(spec.submodule_search_locations or []) if spec else []
        folder = Path(folders[0]) if folders else None
    else:
        folder = Path(where) if scheme == "file" else None
    if folder is None or not folder.is_dir():
        raise ConfigError(f"hydra.searchpath entry {str(entry)!r} is not a config folder: must be file://FOLDER or "
                          "pkg://PACKAGE, holding config groups such as space/ or algorithm/")
    return folder


def _check_group_option(override: Override, options: dict[str, Path]) -> None:
    if override.is_delete():  # ~experiment: Hydra drops the group; validate_config names any key then missing
        return
    values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
    for value in values:
        if value not in options:
            raise ConfigError(f"{override.key_or_group}={show(value)} is not an option; valid: {', '.join(options)}")


def _compose(group_overrides: list[str]) -> tuple[DictConfig, dict[str, str]]:
    """The run's config for these group overrides, and the option chosen for each group (presets may choose too)."""
    try:
        cfg = compose(config_name="config", overrides=group_overrides, return_hydra_config=True)
    except HydraException as err:
        raise ConfigError(f"cannot compose {' '.join(group_overrides)}: {_first_line(err)}") from None
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, choices


def _apply_values(cfg: DictConfig, overrides: list[Override], choices: dict, groups: dict[str, dict[str, Path]],
                  search_path: list[str]) -> None:
    """Apply value overrides as Hydra does, after naming any key that does not exist (Hydra's error is vaguer)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    for override in overrides:
        if override.key_or_group in SELECTORS:
            group = SELECTORS[override.key_or_group]
            raise ConfigError(f"{override.key_or_group}={show(override.value())} is set by its config group; "
                              f"write {group}={override.get_value_element_as_str()}")
        adds = override.is_add() or override.is_force_add()
        if not adds and not _defines(cfg, override.key_or_group):
            raise ConfigError(_unknown_key(override.key_or_group, cfg, choices, groups, search_path))
    try:
        ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)
    except HydraException as err:
        raise ConfigError(_first_line(err)) from None


def _unknown_key(key: str, cfg: DictConfig, choices: dict, groups: dict[str, dict[str, Path]],
                 search_path: list[str]) -> str:
    group = key.split(".")[0]
    if group in groups:  # e.g. landmarks.num_roots with landmarks=random: say which options have the key
        owners = [option for option in groups[group]
                  if _defines(_compose([f"{group}={option}", *search_path])[0], key)]
        if owners:
            return f"{key} is not a config key with {group}={choices[group]}; it belongs to {group}={'|'.join(owners)}"
    match = difflib.get_close_matches(key, _keys(cfg), n=1)
    hint = f"did you mean {match[0]}?" if match else f"add a new key with +{key}=VALUE"
    return f"{key} is not a config key; {hint}"


def _defines(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, throw_on_missing=False) if parent else cfg
    return isinstance(node, DictConfig) and leaf in node.keys()  # keys(): `in` is False for a `???` value


def _keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    keys = []
    for name, node in cfg.items_ex(resolve=False):
        keys.append(prefix + str(name))
        if isinstance(node, DictConfig):
            keys += _keys(node, f"{prefix}{name}.")
    return keys


def _check_data_root(cfg: DictConfig) -> None:
    """A data.root the user typed must exist; only the default root falls back to downloading CIFAR-10."""
    if not cfg.data.synthetic and not Path(cfg.data.root).expanduser().exists():
        raise invalid("data.root", cfg.data.root, "an existing CIFAR-10 folder or .tar.gz (leave it unset to download)")


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
