# lrnas: `make help` lists every target.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: help install test train smoke wheel bench lint format table mutation clean \
	table-nb201 table-nb101 ablation-landmarks ablation-lambda ablation-schedule ablation-penalty ablation-selection ablation-pairs \
	ablation-distance ablation-roots \
	table-nb201-cpu table-nb101-cpu ablation-landmarks-cpu ablation-lambda-cpu ablation-schedule-cpu ablation-penalty-cpu ablation-selection-cpu ablation-pairs-cpu \
	landmarks-nb201-cpu landmark-fidelity-cpu proxy-landmarks-cpu darts-cpu budget-nb201-cpu budget-nb201

# ----- paper tables and ablations: conf/sweep/<name>.yaml, run by a Hydra launcher, then `lrnas report` -----
# DATA: CIFAR-10 (data.root); empty = conf/data/cifar10.yaml's. LAUNCHER: basic (one run after another) | joblib
# (JOBS local processes) | slurm (one job per run; the SLURM_* settings). DRY=1 prints the launcher config instead.
DATA ?=
LAUNCHER ?= basic
JOBS ?= 2
SLURM_PARTITION ?= null
SLURM_ACCOUNT ?= null
SLURM_GPUS ?= 1
SLURM_TIME_MIN ?= 2880
SLURM_MEM_GB ?= 32
LAUNCH_basic :=
LAUNCH_joblib := hydra/launcher=lrnas_joblib hydra.launcher.n_jobs=$(JOBS)
LAUNCH_slurm := hydra/launcher=lrnas_slurm hydra.launcher.partition=$(SLURM_PARTITION) \
	hydra.launcher.account=$(SLURM_ACCOUNT) hydra.launcher.gpus_per_node=$(SLURM_GPUS) \
	hydra.launcher.timeout_min=$(SLURM_TIME_MIN) hydra.launcher.mem_gb=$(SLURM_MEM_GB)
ifeq ($(filter $(LAUNCHER),basic joblib slurm),)
$(error LAUNCHER=$(LAUNCHER) is not a launcher; valid: basic, joblib, slurm)
endif
LAUNCH := $(LAUNCH_$(LAUNCHER)) $(if $(DATA),data.root=$(DATA))
# The ablations' CPU twins run the paper sweeps with this preset instead of paper_nb201_spos_landmark.
CPU_ABLATION := experiment=cpu_ablation
comma := ,
# The CPU table's runs inside the budget study's 40-epoch folder (its constant-λ runs are not table rows).
TABLE_NB201_CPU_RUNS = $(foreach preset,cpu cpu_landmark_cosine,outputs/sweeps/budget_nb201_cpu/epochs40/experiment=$(preset)$(comma)seed=*)
# Free rankings scored on a report's sample beside its super-nets (lrnas report --proxies).
PROXY_SCORES := --proxies synflow$(comma)naswot$(comma)jacob_cov
# The proxy-landmark study's runs, which landmark-fidelity-cpu reports beside its own (same landmarks, seeds, sample).
PROXY_LANDMARK_SWEEPS := proxy_landmarks_plain_cpu proxy_landmarks_cpu
# $(call sweep,NAME[,DIR,OVERRIDES]): conf/sweep/NAME.yaml with OVERRIDES; its runs go to outputs/sweeps/DIR (default
# NAME; a rerun resumes unfinished runs and skips finished ones). $(call report,RESULTS,DIRS[,OPTIONS]): lrnas report
# of outputs/sweeps/DIRS into docs/results/RESULTS/ (report.md/.csv/.tex, runs.csv, plots).
define sweep
	$(if $(DRY),$(BIN)/lrnas train +sweep=$(1) $(3) $(LAUNCH) $(ARGS) --cfg hydra,\
	$(BIN)/lrnas train -m +sweep=$(1) hydra.sweep.dir=outputs/sweeps/$(or $(2),$(1)) $(3) $(LAUNCH) $(ARGS))
endef
define report
	$(if $(DRY),,$(BIN)/lrnas report $(addprefix outputs/sweeps/,$(2)) $(3) --out docs/results/$(1))
endef

help: ## show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}'

install: ## create .venv and install lrnas (editable) with test tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade -q pip
	$(BIN)/pip install -q -e '.[dev]'

test: ## run the test suite (the CI command); two workers, each test file in one (its module fixtures run once)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

train: ## train on real CIFAR-10 with the CPU preset; pass overrides with ARGS='...'
	$(BIN)/lrnas train experiment=cpu $(ARGS)

smoke: ## one tiny end-to-end run on synthetic data (< 1 min)
	$(BIN)/lrnas train experiment=smoke $(ARGS)

WHEEL_DIR := build/wheel-check
wheel: ## build the wheel, install it (not editable) into a fresh venv and run experiment=smoke outside the checkout
	rm -rf $(WHEEL_DIR) build/lib && $(BIN)/pip wheel -q --no-deps -w $(WHEEL_DIR)/dist .
	$(BIN)/python scripts/check_wheel.py $(WHEEL_DIR)/dist/lrnas-*.whl
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/pip install -q $(WHEEL_DIR)/dist/lrnas-*.whl
	mkdir -p $(WHEEL_DIR)/elsewhere && cd $(WHEEL_DIR)/elsewhere && ../venv/bin/lrnas train experiment=smoke \
		hydra.run.dir=run data.cache_dir=cache
	test -s $(WHEEL_DIR)/elsewhere/run/metrics.json

bench: ## speed vs xautodl's NB201 super-net, regularizer overhead, eval and table load (installs xautodl, bench-only)
	$(BIN)/pip install -q --no-deps xautodl  # its metadata pins numpy<=1.19.5; its models run fine without it
	$(BIN)/python scripts/bench.py $(ARGS)

lint: ## static checks
	$(BIN)/ruff check lrnas tests scripts

format: ## auto-fix lint and sort imports
	$(BIN)/ruff check --fix lrnas tests scripts

table: ## regenerate the shipped NB201 and NB101 ground-truth tables from ../shared/data (NB101: ~2 min)
	$(BIN)/python scripts/build_nb201_table.py
	$(BIN)/python scripts/build_nb101_table.py

mutation: ## mutation testing (mutmut; not CI) of landmarks/, evaluation/, training.py, reporting/, search/. MUTANTS='lrnas.evaluation.metrics*' narrows it (114 of 2,024 mutants, 11 min here); all 2,024: not run (hours on 2 cores)
	$(BIN)/pip install -q 'mutmut>=3.3,<4'
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

table-nb201: ## the paper's NB201 table: SPOS, FairNAS x {no, 50} landmarks, PC-DARTS, GDAS x {no, 30} landmarks, x 3 seeds (24 runs of hours each on a GPU; not timed here; FairNAS + landmarks is lrnas's composition: docs/faithfulness.md)
	$(call sweep,table_nb201)
	$(call report,table-nb201,table_nb201)

table-nb201-cpu: ## CPU twin of table-nb201: SPOS x {no, 30} landmarks (experiment=cpu, cpu_landmark_cosine) x 3 seeds at 40 epochs, the budget study's 40-epoch runs (6 runs, all done here: measured 441 min of run time in all, 36 to 98 min each, two runs sharing the 2 cores)
	$(call sweep,table_nb201_cpu,budget_nb201_cpu/epochs40)
	$(if $(DRY),,$(BIN)/lrnas report $(TABLE_NB201_CPU_RUNS) $(PROXY_SCORES) --out docs/results/table-nb201-cpu)

table-nb101: ## the paper's NB101 table: SPOS, FairNAS x {no, 50} landmarks x 3 seeds (12 GPU runs; not timed here; FairNAS + landmarks is lrnas's composition: docs/faithfulness.md)
	$(call sweep,table_nb101)
	$(call report,table-nb101,table_nb101)

table-nb101-cpu: ## CPU twin of table-nb101: SPOS, FairNAS on NB101 x {no, 30} landmarks x 3 seeds, experiment=cpu_table[_landmark] (12 runs; not run: estimated 40-60 min from a 2-epoch NB101 FairNAS timing)
	$(call sweep,table_nb101_cpu)
	$(call report,table-nb101-cpu,table_nb101_cpu)

ablation-landmarks: ## NB201 SPOS with 10, 30, 50, 100, 200 landmarks x 3 seeds (15 GPU runs)
	$(call sweep,ablation_landmarks)
	$(call report,ablation-landmarks,ablation_landmarks)

ablation-landmarks-cpu: ## CPU twin, experiment=cpu_ablation: NB201 SPOS with 10, 30, 50, 100, 200 landmarks x 3 seeds (15 runs: measured 39 min 16 s on a 2-core CPU)
	$(call sweep,ablation_landmarks,ablation_landmarks_cpu,$(CPU_ABLATION))
	$(call report,ablation-landmarks-cpu,ablation_landmarks_cpu)

ablation-lambda: ## NB201 SPOS with λ 1, 10, 40, 100 x 3 seeds (12 GPU runs)
	$(call sweep,ablation_lambda)
	$(call report,ablation-lambda,ablation_lambda)

ablation-lambda-cpu: ## CPU twin, experiment=cpu_ablation: λ 1, 10, 40, 100 x 3 seeds (12 runs; not run: estimated 25 min from ablation-landmarks-cpu's 2 min a run)
	$(call sweep,ablation_lambda,ablation_lambda_cpu,$(CPU_ABLATION))
	$(call report,ablation-lambda-cpu,ablation_lambda_cpu)

ablation-schedule: ## NB201 SPOS with each λ schedule x 3 seeds (15 GPU runs)
	$(call sweep,ablation_schedule)
	$(call report,ablation-schedule,ablation_schedule)

ablation-schedule-cpu: ## CPU twin, experiment=cpu_ablation: each λ schedule x 3 seeds (15 runs; ramp 1 epoch, not 10; not run: estimated 30 min)
	$(call sweep,ablation_schedule,ablation_schedule_cpu,$(CPU_ABLATION) regularizer.ramp_epochs=1)
	$(call report,ablation-schedule-cpu,ablation_schedule_cpu)

ablation-penalty: ## NB201 SPOS with hinge, logistic, margin hinge, softplus β 1/3/5/7 x 3 seeds (21 GPU runs)
	$(call sweep,ablation_penalty)
	$(call sweep,ablation_penalty_softplus)
	$(call report,ablation-penalty,ablation_penalty ablation_penalty_softplus)

ablation-penalty-cpu: ## CPU twin, experiment=cpu_ablation: hinge, logistic, margin hinge, softplus β 1/3/5/7 x 3 seeds (21 runs; not run: estimated 45 min)
	$(call sweep,ablation_penalty,ablation_penalty_cpu,$(CPU_ABLATION))
	$(call sweep,ablation_penalty_softplus,ablation_penalty_softplus_cpu,$(CPU_ABLATION))
	$(call report,ablation-penalty-cpu,ablation_penalty_cpu ablation_penalty_softplus_cpu)

ablation-selection: ## NB201 SPOS with random, fixed, hamming landmarks x 3 seeds (9 GPU runs)
	$(call sweep,ablation_selection)
	$(call report,ablation-selection,ablation_selection)

ablation-distance: ## the authors' Hamming-distance study: per seed (2) a 150-epoch plain-SPOS warm-up, then 50 epochs with 30 hamming landmarks at distance 1-4 x 3 landmark sets, started from it (2 + 24 GPU runs)
	$(call sweep,warm_start_nb201)
	$(call sweep,ablation_distance)
	$(call report,ablation-distance,ablation_distance)

ablation-roots: ## the authors' landmark-count study: from the same warm-up, 1, 2, 3, 10, 20, 200 roots x 10 hamming landmarks (distance 5) x 3 sets x 2 seeds (36 GPU runs)
	$(call sweep,warm_start_nb201)
	$(call sweep,ablation_roots)
	$(call report,ablation-roots,ablation_roots)

ablation-selection-cpu: ## CPU twin, experiment=cpu_ablation: random, fixed, hamming landmarks x 3 seeds (9 runs; not run: estimated 20 min)
	$(call sweep,ablation_selection,ablation_selection_cpu,$(CPU_ABLATION))
	$(call report,ablation-selection-cpu,ablation_selection_cpu)

ablation-pairs: ## NB201 SPOS with each pair procedure x 3 seeds (12 GPU runs; all_pairs is lrnas's own: the authors' scripts only ran adjacent pairs)
	$(call sweep,ablation_pairs)
	$(call report,ablation-pairs,ablation_pairs)

ablation-pairs-cpu: ## CPU twin, experiment=cpu_ablation: each pair procedure x 3 seeds, 10 landmarks so all_pairs (45 pairs, 10 landmark passes a step) fits (12 runs; not run: estimated 40 min)
	$(call sweep,ablation_pairs,ablation_pairs_cpu,$(CPU_ABLATION) landmarks.num_landmarks=10)
	$(call report,ablation-pairs-cpu,ablation_pairs_cpu)

# ----- the budget study: held-out tau against the super-net's training budget, plain and with landmarks -----
# One sweep per budget into outputs/sweeps/<study>/epochs<T>/, run folders named by their overrides (experiment, seed,
# epochs), so a stopped study resumes where it stopped; the longest budget also evaluates mid-run.
BUDGET_CPU_MIDRUN := [5,10,15,20,30]
BUDGET_MIDRUN := [25,50,100,150,200,300]
define budget
	$(call sweep,$(1),$(1)/epochs$(2),trainer.epochs=$(2) 'eval.at_epochs=$(or $(3),[])')
endef
budget-nb201-cpu: ## the budget study on a CPU: SPOS, SPOS + 30 landmarks (λ constant from epoch 3; the paper's schedule scaled) x 3 seeds, ending at 20 and at 40 epochs (the 40-epoch runs also evaluated at 5, 10, 15, 20, 30), 200 archs on 2,000 test images (18 runs; partly run: 16 done here, alone on 2 cores about 25 min for a plain 40-epoch run and 45 for a landmark one; left: λ constant at 20 epochs, seeds 1 and 2, estimated 45 min; rerun to resume)
	$(call budget,budget_nb201_cpu,20)
	$(call budget,budget_nb201_cpu,40,$(BUDGET_CPU_MIDRUN))
	$(call report,budget-nb201-cpu,$(addprefix budget_nb201_cpu/epochs,20 40))
	$(if $(DRY),,$(BIN)/python scripts/keep_runs.py outputs/sweeps/budget_nb201_cpu docs/results/budget-nb201-cpu/runs)

budget-nb201: ## paper-scale budget study: paper_nb201_spos[_landmark] x 3 seeds at 100, 200, 400 epochs (18 GPU runs; not timed here)
	$(call budget,budget_nb201,100)
	$(call budget,budget_nb201,200)
	$(call budget,budget_nb201,400,$(BUDGET_MIDRUN))
	$(call report,budget-nb201,$(addprefix budget_nb201/epochs,100 200 400))

# ----- landmarks trained stand-alone (lrnas landmarks build), checked against NB201's ground truth -----
# LAUNCHER=joblib|slurm trains one architecture per job ('build.only=range(30)'); basic trains them one by one.
BUILD := $(BIN)/lrnas landmarks build space=nb201 $(if $(DATA),data.root=$(DATA))
landmarks-nb201-cpu: ## build 30 NB201 landmarks with standalone=nb201_cpu; tau vs ground truth beside NB201's 12-epoch tau (measured 9 min on a 2-core CPU)
	$(BUILD) standalone=nb201_cpu build.out=outputs/landmarks/nb201-cpu $(if $(LAUNCH_$(LAUNCHER)),-m \
		'build.only=range(30)' $(LAUNCH_$(LAUNCHER))) $(ARGS)
	mkdir -p docs/results/landmarks-nb201-cpu
	cp outputs/landmarks/nb201-cpu/landmarks.csv outputs/landmarks/nb201-cpu/summary.json docs/results/landmarks-nb201-cpu/

landmark-fidelity-cpu: proxy-landmarks-cpu ## experiment=cpu_landmark with the same 30 landmarks ranked by NB201's own 12-epoch accuracies, beside proxy-landmarks-cpu's runs (ranked by 200-epoch ground truth, by synflow, and none) x 3 seeds: 3 runs of its own (all done here: measured 20 min each alone on a 2-core CPU; gain over plain +0.136 with 12-epoch landmarks, +0.175 with exact ones)
	$(BUILD) standalone=benchmark
	$(call sweep,landmark_fidelity_cpu)
	$(call report,landmark-fidelity-cpu,$(PROXY_LANDMARK_SWEEPS) landmark_fidelity_cpu,$(PROXY_SCORES))

proxy-landmarks-cpu: ## experiment=cpu_landmark with the same 30 random landmarks ranked by ground truth or by synflow at initialisation (no training), and experiment=cpu without, x 3 seeds (9 runs, all done here: measured 19-22 min per landmark run and 11 min per plain run alone, so about 2 h 40 min in all on a 2-core CPU; gain over plain +0.175 with ground-truth landmarks, +0.046 with synflow's)
	$(BUILD) standalone=benchmark standalone.column=cifar10_test
	$(BUILD) standalone=proxy
	$(call sweep,proxy_landmarks_cpu)
	$(call sweep,proxy_landmarks_plain_cpu)
	$(call report,proxy-landmarks-cpu,$(PROXY_LANDMARK_SWEEPS),$(PROXY_SCORES))

DARTS_CPU := outputs/darts-cpu
darts-cpu: ## space=darts: build 30 DARTS landmarks with standalone=darts_cpu, then experiment=cpu_darts with 10 of them as landmarks and without, ranking the other 20 (measured 18 min on a 2-core CPU)
	$(BIN)/lrnas landmarks build space=darts standalone=darts_cpu landmarks.num_landmarks=30 build.out=$(DARTS_CPU)/landmarks $(if $(DATA),data.root=$(DATA)) $(ARGS)
	$(BIN)/lrnas train experiment=cpu_darts space.table=$(DARTS_CPU)/landmarks/landmarks.csv hydra.run.dir=$(DARTS_CPU)/runs/landmarks $(if $(DATA),data.root=$(DATA)) $(ARGS)
	$(BIN)/lrnas train experiment=cpu_darts space.table=$(DARTS_CPU)/landmarks/landmarks.csv landmarks=none regularizer=none hydra.run.dir=$(DARTS_CPU)/runs/plain $(if $(DATA),data.root=$(DATA)) $(ARGS)
	$(BIN)/lrnas report $(DARTS_CPU)/runs --out docs/results/darts-cpu

clean: ## remove caches and build artefacts (keeps outputs/ and .venv)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache mutants
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
