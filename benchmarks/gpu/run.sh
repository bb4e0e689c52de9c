#!/usr/bin/env bash
# Everything the fast-kernels issue needs measured on a GPU, in one command per stage (each well inside the
# device tool's 10-minute limit). Run from the repository root on the GPU machine:
#
#   make gpu-wheels                      # here, once: fla-core, accelerated-scan, minGRU-pytorch into .whl/
#   bash benchmarks/gpu/run.sh all       # there (carry .whl): every stage below with its own time limit, in
#                                        # one call (~9 min: a machine goes back 30 s after a call)
#   bash benchmarks/gpu/run.sh tests     # there: the Triton kernel tests on the GPU
#   bash benchmarks/gpu/run.sh bench     # there: minrnn bench gpu (copy, scan vs fla/accelerated-scan, paper step)
#   bash benchmarks/gpu/run.sh sweep     # there: Triton launch configurations of our kernels
#   bash benchmarks/gpu/run.sh ops       # there: minrnn bench ops --device cuda (layers vs cuDNN GRU/LSTM, step())
#
# Results go to $RESULTS, else $OUT (the device tool brings them back), else benchmarks/results; `all` packs
# them into $OUT/gpu_results.tgz. Copy them into benchmarks/results/ (the files name the machine and command).
set -euo pipefail
stage=${1:?usage: run.sh all|tests|bench|sweep|ops}
install_wheels() {  # the outside kernels, offline; a failure is reported, not fatal (ours still get measured)
    if [ -z "${MINRNN_WHEELS_DONE:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            .whl/*.whl || echo "wheel install failed: fla / accelerated-scan rows will say unavailable"
    fi
    export MINRNN_WHEELS_DONE=1 PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
}
if [ "$stage" = all ]; then  # most important first; a stage that runs out of time leaves the others to run
    export RESULTS=${RESULTS:-/tmp/gpu_results}
    rm -rf "$RESULTS" && mkdir -p "$RESULTS"  # no stale files from an earlier call on a warm machine
    install_wheels
    # accelerated-scan's 'warp' kernel is a CUDA extension built on first import (over a minute): build it
    # in the background while the tests run, so the bench stage finds it ready (torch's build lock serialises)
    (PYTHONPATH=$PYTHONPATH python3 -c "import accelerated_scan.warp" >"$RESULTS/warp_build.log" 2>&1 &)
    for s in "tests 120" "bench 180" "sweep 180" "ops 60"; do  # 540 s: inside the 600 s of one device call
        set -- $s
        timeout "$2" bash "$0" "$1" || echo "stage $1 ended with status $? (124: its time limit)"
    done
    if [ -n "${OUT:-}" ]; then  # the device tool brings back at most 8 files: one archive and the summaries
        tar -czf "$OUT/gpu_results.tgz" -C "$(dirname "$RESULTS")" "$(basename "$RESULTS")"
        cp "$RESULTS"/*.md "$OUT"/ 2>/dev/null || true
    fi
    exit 0
fi
out=${RESULTS:-${OUT:-benchmarks/results}}
mkdir -p "$out"
install_wheels
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu_$stage.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$out/gpu_$stage.txt"
log="$out/gpu_$stage.txt"  # every stage's whole output: the device tool returns only the last 12 kB
case $stage in  # the GPU kernels' tests first, and a few failures do not hide the rest
    tests) python3 -m pytest tests/ops/test_triton.py tests/ops/test_triton_host.py tests/ops -q --maxfail=5 \
               --durations=10 -p no:cacheprovider 2>&1 | tee -a "$log" ;;
    bench) python3 -m minrnn.bench.gpu --sections copy,step,scan --out "$out" 2>&1 | tee -a "$log" ;;
    sweep) python3 -m minrnn.bench.gpu --sections sweep --out "$out" 2>&1 | tee -a "$log" ;;
    ops) python3 -m minrnn.bench.ops --device cuda --sections scan,layer,step --T 2048,4096 --D 64,256 \
             --out "$out" 2>&1 | tee -a "$log" ;;
    *) echo "unknown stage $stage: all|tests|bench|sweep|ops" >&2; exit 2 ;;
esac
