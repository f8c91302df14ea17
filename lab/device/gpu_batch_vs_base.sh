#!/usr/bin/env bash
# Issue 17 on a GPU machine, before and after in ONE run: the batch path with the model stage on
# CUDA for this tree and for an older one, alternating (base, now, base, now ...) on the same
# tracks, plus this tree's CUDA tests and serial paths, and a field-by-field comparison of what the
# two trees stored.
#
#   bash lab/device/gpu_batch_vs_base.sh BASE_DIR [N_TRACKS] [SERIAL_TRACKS] [ROUNDS]
#
# BASE_DIR holds the older tree's musicapp/ and lab/ (for example
# `git archive REV musicapp lab pyproject.toml | tar -x -C .gpu_tree`); both trees read the
# models from this checkout's resources/ (MUSICAPP_RESOURCES), so only the code differs.
# ALT_WORKERS=K adds a run per round: this tree with K workers; ALT_BATCH=B one with B patches per
# forward pass. MODEL_STAGE=1 first times the model stage alone (musicapp_lab.bench.model_stage)
# at the batch sizes in MODEL_STAGE_SIZES (default 64,128,256,512).
# Expects .whl/ and .gpu_real/ as lab/device/gpu_batch.sh does. Writes to $OUT (or ./gpu-out):
# run.txt (environment, tests, every benchmark line, GPU utilisation, comparison) and now.json
# (this tree's first run, serial paths included).
set -uo pipefail
BASE=$(cd "${1:?usage: gpu_batch_vs_base.sh BASE_DIR [N] [SERIAL] [ROUNDS]}" && pwd)
N=${2:-240}
SERIAL=${3:-6}
ROUNDS=${4:-2}
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
LOG="$OUT/run.txt"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MUSICAPP_DATA_DIR=/tmp/musicapp-data
export MUSICAPP_RESOURCES=$PWD/resources
SITE=""
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  SITE=/tmp/site:
fi
NOW_PATH="${SITE}$PWD:$PWD/lab"
BASE_PATH="${SITE}$BASE:$BASE/lab"
{
  date -u; nproc --all; python3 --version
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  PYTHONPATH=$NOW_PATH python3 -c "import torch, librosa; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'librosa', librosa.__version__)"
} 2>&1 | tee "$LOG"
# 1. This tree's GPU code paths against the CPU ones.
[ -n "${SKIP_TESTS:-}" ] || PYTHONPATH=$NOW_PATH timeout 150 python3 -m pytest -q -p no:cacheprovider -o addopts="" \
  tests/features/test_torch_mel.py "tests/batch/test_runner.py::test_same_results_as_serial_path" \
  tests/batch/test_model_stage.py \
  2>&1 | tail -15 | tee -a "$LOG"
if [ -n "${MODEL_STAGE:-}" ]; then
  PYTHONPATH=$NOW_PATH timeout 120 python3 -m musicapp_lab.bench.model_stage --device cuda --tracks 120 \
    --batch-sizes "${MODEL_STAGE_SIZES:-64,128,256,512}" .gpu_real/*.ogg 2>&1 | tee -a "$LOG"
fi
nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,memory.used --format=csv,noheader \
  -lms 500 > /tmp/gpu_util.csv 2>/dev/null &
SMI=$!
# 2. This tree: the tracks (made once, reused below), the serial paths on SERIAL tracks, batch on CUDA.
echo "=== now (with serial paths) $(date -u +%T)" | tee -a "$LOG"
PYTHONPATH=$NOW_PATH timeout 300 python3 lab/device/run_bench_batch.py batch --tracks "$N" \
  --real .gpu_real --serial-tracks "$SERIAL" --models "" --dir /tmp/bench --out "$OUT/now.json" \
  2>&1 | tee -a "$LOG"
# 3. Base and this tree alternating, batch on CUDA only, same tracks (a link to the folder above).
for r in $(seq "$ROUNDS"); do
  for tree in base now ${ALT_WORKERS:+now-w$ALT_WORKERS} ${ALT_BATCH:+now-b$ALT_BATCH}; do
    dir=/tmp/bench-$tree-$r
    mkdir -p "$dir" && ln -sfn "/tmp/bench/${N}xreal" "$dir/${N}xreal"
    if [ "$tree" = base ]; then P=$BASE_PATH; ROOT=$BASE; else P=$NOW_PATH; ROOT=$PWD; fi
    extra=()
    case $tree in
      now-w*) extra=(--workers "$ALT_WORKERS") ;;
      now-b*) extra=(--batch-size "$ALT_BATCH") ;;
    esac
    echo "=== $tree round $r $(date -u +%T)" | tee -a "$LOG"
    PYTHONPATH=$P timeout 200 python3 "$ROOT/lab/device/run_bench_batch.py" batch --tracks "$N" \
      --real .gpu_real --no-serial --models "" --dir "$dir" "${extra[@]}" 2>&1 | tee -a "$LOG"
  done
done
kill $SMI 2>/dev/null
# 4. GPU utilisation and what the two trees stored.
PYTHONPATH=$NOW_PATH python3 - "$N" "$ROUNDS" <<'PY' 2>&1 | tee -a "$LOG"
import sys
from pathlib import Path
from musicapp_lab.bench.batch import compare_results
vals = [int(line.split(",")[1].strip().split()[0]) for line in open("/tmp/gpu_util.csv")
        if line.count(",") >= 3 and line.split(",")[1].strip().split()[0].isdigit()]
busy = [v for v in vals if v > 0]
if vals:
    print(f"GPU utilisation samples: {len(vals)}, mean {sum(vals)/len(vals):.1f} %, "
          f"mean while busy {sum(busy)/max(1, len(busy)):.1f} %, max {max(vals)} %")
n, rounds = sys.argv[1], int(sys.argv[2])
for r in range(1, rounds + 1):
    a = Path(f"/tmp/bench-base-{r}/bench-batch-parent-cuda.sqlite3")
    for b in sorted(Path("/tmp").glob(f"bench-now*-{r}/bench-batch-parent-cuda.sqlite3")):
      if a.exists():
        cmp = compare_results(a, b)
        print(f"round {r}: {b.parent.name} vs base: {cmp['tracks']} common tracks, "
              f"{'identical' if cmp['equal'] else 'DIFFERENT'} (fields that differ: "
              f"{cmp['mismatched'] or 'none'}; largest score difference "
              f"{cmp['max_last_digit_diff']:.2f} units of the last stored digit)")
PY
