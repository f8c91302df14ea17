#!/usr/bin/env bash
# Issue 17 on a GPU machine: the batch indexer's throughput, per-stage utilisation and equality
# with the serial path, as ONE prepared run (the device tool of the development workplace, or any
# CUDA machine with the project's checkout).
#
#   bash lab/device/gpu_batch.sh [N_TRACKS] [SERIAL_TRACKS]
#
# Expects in the checkout: .whl/ (wheels of the project's pure-Python/abi3 dependencies missing
# from the machine's image: librosa, soundfile, soxr, audioread, decorator, pooch, cffi, pycparser,
# mido, platformdirs; see the README's "GPU benchmark" notes) and .gpu_real/ (a few real music
# files; the benchmark makes N distinct gain variants of them). Writes logs and JSON to $OUT
# (or ./gpu-out when OUT is unset).
set -uo pipefail
N=${1:-240}
SERIAL=${2:-6}
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD:$PWD/lab
else
  export PYTHONPATH=$PWD:$PWD/lab
fi
export MUSICAPP_DATA_DIR=/tmp/musicapp-data
{
  date -u; nproc --all; python3 --version
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, librosa, soundfile; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'librosa', librosa.__version__)"
} 2>&1 | tee "$OUT/env.txt"
# 1. The GPU code paths against the CPU ones (log-Mel front end; batch path on CUDA vs serial on CUDA).
timeout 150 python3 -m pytest -q -p no:cacheprovider -o addopts="" \
  tests/features/test_torch_mel.py "tests/batch/test_runner.py::test_same_results_as_serial_path" \
  2>&1 | tee "$OUT/tests.txt" | tail -15
# 2. GPU utilisation sampled while the benchmark runs.
nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,memory.used --format=csv,noheader \
  -lms 500 > "$OUT/gpu_util.csv" 2>/dev/null &
SMI=$!
timeout "${BENCH_TIMEOUT:-420}" python3 lab/device/run_bench_batch.py batch --tracks "$N" --real .gpu_real \
  --serial-tracks "$SERIAL" --models workers --dir /tmp/bench --out "$OUT/bench.json" \
  2>&1 | tee "$OUT/bench.txt"
kill $SMI 2>/dev/null
python3 - "$OUT/gpu_util.csv" <<'PY'
import sys
vals = [int(line.split(",")[1].strip().split()[0]) for line in open(sys.argv[1]) if line.count(",") >= 3]
busy = [v for v in vals if v > 0]
if vals:
    print(f"GPU utilisation samples: {len(vals)}, mean {sum(vals)/len(vals):.1f} %, "
          f"mean while busy {sum(busy)/max(1,len(busy)):.1f} %, max {max(vals)} %")
PY
