#!/usr/bin/env bash
# Everything the fast-kernels issue needs measured on a GPU, in one command per stage (each well inside the
# device tool's 10-minute limit). Run from the repository root on the GPU machine:
#
#   make gpu-wheels                      # here, once: fla-core, accelerated-scan, minGRU-pytorch into .whl/
#   bash benchmarks/gpu/run.sh tests     # there (carry .whl): the Triton kernel tests on the GPU
#   bash benchmarks/gpu/run.sh bench     # there: minrnn bench gpu (copy, scan vs fla/accelerated-scan, paper step)
#   bash benchmarks/gpu/run.sh sweep     # there: Triton launch configurations of our kernels
#   bash benchmarks/gpu/run.sh ops       # there: minrnn bench ops --device cuda (layers vs cuDNN GRU/LSTM, step())
#
# Results go to $OUT (the device tool brings them back) or benchmarks/results; copy them into
# benchmarks/results/ with the machine and the command (the files name both).
set -euo pipefail
stage=${1:?usage: run.sh tests|bench|sweep|ops}
out=${OUT:-benchmarks/results}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu_$stage.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$out/gpu_$stage.txt"
case $stage in
    tests) python3 -m pytest tests/ops -q -p no:cacheprovider 2>&1 | tee -a "$out/gpu_$stage.txt" ;;
    bench) python3 -m minrnn.bench.gpu --sections copy,scan,step --out "$out" ;;
    sweep) python3 -m minrnn.bench.gpu --sections copy,sweep --out "$out" ;;
    ops) python3 -m minrnn.bench.ops --device cuda --sections scan,layer,step --out "$out" ;;
    *) echo "unknown stage $stage: tests|bench|sweep|ops" >&2; exit 2 ;;
esac
