#!/usr/bin/env bash
# Train a named grid on a lent GPU in batches of runs (anl.batched); the records come back into
# results/runs/. Three steps, repeated until the grid is done (each device call resumes: records
# already in results/runs/ travel with the tree and are skipped):
#
#   1. here:  scripts/gpu_grid.sh stage mnist-full
#             copies the data the grid needs into .device/data/ (git-ignored), writes the commit
#             into .device/git-sha (the records' code version where the copy has no git) and checks
#             that the tree that travels (tracked + untracked files + .device) stays under 64 MiB.
#   2. device tool, one call of at most 10 minutes:
#             run(command="bash scripts/gpu_grid.sh device 24 540 --grid mnist-full",
#                 carry=[".device"], timeout_s=600)
#             trains up to 24 runs per batch with --time-budget 540 (no batch or epoch starts that
#             would end later), then packs the new records into $OUT/records.tar.gz and the log
#             into $OUT/sweep.log.
#      or, for runs whose batch would outlast a call (120-epoch CIFAR-10), single runs in N processes that
#      share one sweep (anl.train.train_sweep; its claims hand each run to one process, its deadline stops them):
#             run(command="bash scripts/gpu_grid.sh parallel --grids cifar10-table --processes 3 --budget 560",
#                 carry=[".device"], timeout_s=600)   (scripts/gpu_parallel_runs.py; same packing)
#             its runs still training at the deadline resume from the machine's disk in the next
#             call, if it comes while the machine is warm (fetch first, then call again at once)
#      or, the one prepared command for a lease: the queue (grid gpu-queue of anl.experiments) in priority order:
#             run(command="bash scripts/gpu_grid.sh queue 560", carry=[".device"], timeout_s=600)
#             (stage it first with: scripts/gpu_grid.sh stage gpu-queue)
#             measures for about MEASURE_SECONDS (default 30: python -m anl bench, eager beside the
#             $ANL_STEP step, default graphed on CUDA), then trains the queue's unrecorded runs
#             with gpu_parallel_runs.py for what is left of the 560 s (default --processes 4; any
#             gpu_parallel_runs.py option may follow, e.g. --grids, --limit, --epochs), packs the
#             new records and the checkpoints of unfinished runs ($OUT/checkpoints.tar.gz); a
#             second call while the machine is warm resumes them
#   3. here:  scripts/gpu_grid.sh fetch <files_at of that call>
#             copies the returned records into results/runs/ (only keys not there yet), and the
#             returned checkpoints of unfinished runs into the results' checkpoint folder
#             (anl.engine.checkpoint_dir; only those not there yet).
#
# A batch cut short by the budget is lost with the machine (its checkpoint is too large to bring
# back): pick R so that one batch fits in a call. Environment: ANL_DATA (data root; stage reads it,
# default ../shared/data, and device uses it if set, else .device/data), ANL_RESULTS (default
# results), DEVICE (default cuda; cpu for a dry run), PYTHON (default .venv/bin/python if present,
# else python3), MEASURE_SECONDS and BENCH_MODELS (default cnn8) for queue's measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
RESULTS=${ANL_RESULTS:-results}
LIMIT_BYTES=$((64 * 1024 * 1024))

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

needed_data() {  # grid or data set names -> the data this needs: mnist fashion_mnist cifar10 cifar-n
    "$PY" - "$@" <<'EOF'
import sys
from anl.data import DATASETS
from anl.experiments import GRIDS, grid
needs = set()
for name in sys.argv[1:]:
    if name in GRIDS:
        configs = grid(name)
        needs |= {config.dataset for config in configs}
        needs |= {"cifar-n" for config in configs if config.noise.startswith("cifar10n")}
    elif name in DATASETS:
        needs.add(name)
    else:
        sys.exit(f"unknown grid or data set {name!r}; grids: {', '.join(GRIDS)}; data sets: {', '.join(DATASETS)}")
print(" ".join(sorted(needs)))
EOF
}

stage() {
    [ $# -ge 1 ] || usage
    local source=${ANL_DATA:-../shared/data} target=.device/data needs
    needs=$(needed_data "$@")
    rm -rf "$target"
    mkdir -p "$target"
    if [ -n "$(git status --porcelain --untracked-files=no -- anl)" ]; then
        echo "anl/ has uncommitted changes: commit them first, so that the records name the code they ran" >&2
        exit 1
    fi
    git rev-parse HEAD >.device/git-sha
    for need in $needs; do
        case $need in
            mnist) mkdir -p "$target/mnist"; cp "$source"/mnist/*-ubyte.gz "$target/mnist/" ;;
            fashion_mnist)
                local from=/usr/share/datasets/fashion-mnist
                [ -d "$source/fashion_mnist" ] && from=$source/fashion_mnist
                mkdir -p "$target/fashion_mnist"; cp "$from"/*-ubyte.gz "$target/fashion_mnist/" ;;
            cifar10) cp "$source/cifar10-jpeg.tar.gz" "$target/" ;;
            cifar-n) mkdir -p "$target/cifar-n"; cp "$source/cifar-n/CIFAR-10_human.pt" "$target/cifar-n/" ;;
            *) echo "no staging rule for $need (not available on this machine)" >&2; exit 1 ;;
        esac
    done
    local tree staged total
    tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    staged=$(du -sb .device | cut -f1)
    total=$((tree + staged))
    awk -v needs="$needs" -v target="$target" -v staged="$staged" -v tree="$tree" -v total="$total" 'BEGIN {
        printf "staged %s into %s: %.1f MiB; tree %.1f MiB; total %.1f MiB of 64 MiB\n",
            needs, target, staged / 1048576, tree / 1048576, total / 1048576 }'
    if [ "$total" -ge "$LIMIT_BYTES" ]; then
        echo "too large for the device tool: stage fewer grids at a time" >&2
        exit 1
    fi
}

device_environment() {  # the data staged in .device, caches and checkpoints on the machine's disk
    : "${OUT:?OUT is not set: run this through the device tool, or set OUT to a folder}"
    export ANL_DATA=${ANL_DATA:-$PWD/.device/data} ANL_CACHE=${ANL_CACHE:-/tmp/anl-cache}
    export ANL_CHECKPOINTS=${ANL_CHECKPOINTS:-/tmp/anl-checkpoints}
    [ -f .device/git-sha ] && export ANL_GIT_SHA=${ANL_GIT_SHA:-$(cat .device/git-sha)}
    mkdir -p "$RESULTS/runs" "$OUT"
}

train_and_pack() {  # run the command, its output into $OUT/sweep.log; pack the records it added, even if it failed
    local before after status=0
    before=$(mktemp) after=$(mktemp)
    ls "$RESULTS/runs" | sort >"$before"
    "$@" 2>&1 | tee "$OUT/sweep.log" || status=$?
    ls "$RESULTS/runs" | sort >"$after"
    comm -13 "$before" "$after" | grep '\.json$' >"$after.new" || true
    if [ -s "$after.new" ]; then
        tar -czf "$OUT/records.tar.gz" -C "$RESULTS/runs" -T "$after.new"
    fi
    echo "packed $(wc -l <"$after.new") new records into \$OUT/records.tar.gz" | tee -a "$OUT/sweep.log"
    rm -f "$before" "$after" "$after.new"
    return "$status"
}

device() {
    [ $# -ge 3 ] || usage
    local runs=$1 budget=$2
    shift 2
    device_environment
    train_and_pack "$PY" -m anl sweep "$@" --batched "$runs" --time-budget "$budget" --device "${DEVICE:-cuda}" \
        --results "$RESULTS" --no-progress
}

parallel() {
    [ $# -ge 1 ] || usage
    device_environment
    train_and_pack "$PY" scripts/gpu_parallel_runs.py "$@" --device "${DEVICE:-cuda}" --results "$RESULTS"
}

queue() {
    [ $# -ge 1 ] || usage
    local budget=$1 started=$SECONDS device=${DEVICE:-cuda}
    shift
    device_environment
    export ANL_STEP=${ANL_STEP:-$([ "$device" = cuda ] && echo graphed || echo eager)}
    local paths=eager
    [ "$ANL_STEP" != eager ] && paths=eager,$ANL_STEP
    timeout "${MEASURE_SECONDS:-30}" "$PY" -m anl bench --models "${BENCH_MODELS:-cnn8}" --precisions bf16 --no-epoch \
        --repeats 1 --steps "$paths" --device "$device" 2>&1 | tee "$OUT/bench.log" || true
    local left=$((budget - (SECONDS - started)))
    local options=("$@")
    [[ " $* " == *" --grids "* ]] || options+=(--grids gpu-queue)
    [[ " $* " == *" --processes "* ]] || options+=(--processes 4)
    train_and_pack "$PY" scripts/gpu_parallel_runs.py "${options[@]}" --budget "$left" --device "$device" \
        --results "$RESULTS"
}

fetch() {
    [ $# -eq 1 ] || usage
    local archive=$1/records.tar.gz checkpoints=$1/checkpoints.tar.gz
    if [ ! -f "$archive" ] && [ ! -f "$checkpoints" ]; then
        echo "no records.tar.gz or checkpoints.tar.gz in $1 (no run finished or began); end of its sweep.log:" >&2
        tail -n 5 "$1/sweep.log" >&2 2>/dev/null || true
        exit 1
    fi
    local unpacked new=0 old=0 copied=0 name folder
    mkdir -p "$RESULTS/runs"
    if [ -f "$archive" ]; then
        unpacked=$(mktemp -d)
        tar -xzf "$archive" -C "$unpacked"
        for file in "$unpacked"/*.json; do
            name=$(basename "$file")
            if [ -e "$RESULTS/runs/$name" ]; then
                old=$((old + 1))
            else
                cp "$file" "$RESULTS/runs/$name"
                new=$((new + 1))
            fi
        done
        rm -rf "$unpacked"
    fi
    echo "fetched $new new records into $RESULTS/runs ($old already there)"
    [ -f "$checkpoints" ] || return 0
    folder=$("$PY" -c 'import sys; from anl.engine import checkpoint_dir; from anl.results import ResultsStore
print(checkpoint_dir(ResultsStore(sys.argv[1])))' "$RESULTS")
    unpacked=$(mktemp -d)
    tar -xzf "$checkpoints" -C "$unpacked"
    mkdir -p "$folder"
    for file in "$unpacked"/*.pt; do  # a run recorded since, or one with a checkpoint here already, keeps its own
        name=$(basename "$file")
        if [ ! -e "$folder/$name" ] && [ ! -e "$RESULTS/runs/${name%.pt}.json" ]; then
            cp "$file" "$folder/$name"
            copied=$((copied + 1))
        fi
    done
    rm -rf "$unpacked"
    echo "fetched $copied checkpoints of unfinished runs into $folder"
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
    stage) stage "$@" ;;
    device) device "$@" ;;
    parallel) parallel "$@" ;;
    queue) queue "$@" ;;
    fetch) fetch "$@" ;;
    *) usage ;;
esac
