#!/usr/bin/env bash
# Runs InseqNative's tests and benchmark on a lent GPU machine (CUDA 13, CMake, Python; no .NET there).
#
#   bench/gpu/run-on-gpu.sh package          here (with .NET and ../shared/fixtures): publish the test executable
#                                            (xunit v3 runners are executables) and the `inseq` CLI self-contained
#                                            for linux-x64 into one folder, with the fixtures, as
#                                            bench/gpu/pkg/inseq-gpu.tar.xz (git-ignored; carry bench/gpu/pkg)
#   bench/gpu/run-on-gpu.sh run [STAGES]     on the GPU machine, from the repository root: STAGES is a comma list of
#                                            build, test, bench (default: all three)
#       build  native/ with CMake into native/build/gpu (INSEQ_CUDA=ON, architectures $INSEQ_CUDA_ARCHS or
#              "native"), libinseqnative_cuda.so with the CPU twin inside
#       test   the CUDA tests (namespace InseqNative.Tests.Cuda; TESTS=all for the whole suite, which needs the
#              full fixtures in INSEQ_FIXTURES) against that library: they must run, not skip (a skipped CUDA test
#              fails the stage); xunit XML in $OUT/tests.xml
#       bench  inseq bench --device cuda: GPT-2-small shape, fp32 and TF32, model passes (one 512-token sequence,
#              achieved TFLOP/s vs the nominal peak) and attribution 20+20 / 256+256 (saliency, input x gradient,
#              IG-50, attention; fused vs stepwise); the aggregated output (--no-granular: norms on the GPU)
#              at 256+256; then the CPU model passes beside it (BENCH_CUDA_ARGS / BENCH_AGG_ARGS /
#              BENCH_CPU_ARGS override the arguments)
#   Writes $OUT/gpu-run.log (everything) and $OUT/results.md (device, versions, build time, test summary, bench
#   tables). $OUT defaults to bench/gpu/out.
#
# With the device tool (one command runs at most 10 minutes; the machine stays warm between calls, so the build and
# the unpacked archive are reused): package here, then
#   run(command="bash bench/gpu/run-on-gpu.sh run build,test", carry=["bench/gpu/pkg"], timeout_s=600)
#   run(command="bash bench/gpu/run-on-gpu.sh run bench", carry=["bench/gpu/pkg"], timeout_s=600)
# and copy $OUT/results.md's tables into bench/RESULTS.md with the commands above.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
pkg=$repo/bench/gpu/pkg/inseq-gpu.tar.xz

package() {
  command -v dotnet >/dev/null || { echo "package needs the .NET SDK (run it on the development machine)"; exit 1; }
  local fixtures=${INSEQ_FIXTURES:-$repo/../shared/fixtures}
  [[ -d $fixtures/models ]] || { echo "fixtures not found at $fixtures (set INSEQ_FIXTURES)"; exit 1; }
  local stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  # Both apps into one folder: they share the runtime and the InseqNative assemblies (one copy in the archive).
  # SkipNativeBuild: the GPU machine builds its own native library (INSEQ_NATIVE_LIBRARY points at it).
  for proj in tests/InseqNative.Tests src/InseqNative.Cli; do
    dotnet publish "$proj" -c Release -r linux-x64 --self-contained true -p:SkipNativeBuild=true \
      -p:UseAppHost=true -o "$stage/app" || exit 1
  done
  # Not needed to run the tests, and megabytes each: debugger support, symbols, XML docs.
  rm -f "$stage"/app/libmscordaccore.so "$stage"/app/libmscordbi.so "$stage"/app/createdump "$stage"/app/*.pdb \
    "$stage"/app/*.xml
  # The fixtures the CUDA tests read (the device tool carries 64 MiB): the decoder-only models and their cases
  # (CudaModelParityTests, CudaInseqCaseTests) and the encoder-decoder ones (CudaSeq2SeqParityTests loads tiny-marian,
  # tiny-m2m100 and tiny-t5; CudaInseqCaseTests' encoder-decoder theory enumerates their cases, and a theory with no
  # data fails). About 10 MB of the archive.
  mkdir -p "$stage/fixtures/models" "$stage/fixtures/cases"
  cp "$fixtures"/*.md "$fixtures"/index.json "$stage/fixtures/" 2>/dev/null
  local m
  for m in tiny-gpt2 tiny-gpt2-bpe tiny-llama tiny-marian tiny-m2m100 tiny-t5; do
    [[ -d $fixtures/models/$m ]] || { echo "fixture model $m missing in $fixtures/models"; exit 1; }
    cp -r "$fixtures/models/$m" "$stage/fixtures/models/"
    cp "$fixtures/cases/$m"__*.json "$stage/fixtures/cases/" 2>/dev/null
  done
  # The fixtures' tiny-gpt2 is the model the repository ships (models/tiny-gpt2, 13 MB of weights that hardly
  # compress): leave it out and let `run` link the repository's copy in, when the two are byte-identical.
  if cmp -s "$fixtures/models/tiny-gpt2/model.safetensors" "$repo/models/tiny-gpt2/model.safetensors"; then
    rm -rf "$stage/fixtures/models/tiny-gpt2"
    echo "models/tiny-gpt2" >"$stage/fixtures/FROM_REPO"
  fi
  mkdir -p "$(dirname "$pkg")"
  tar -C "$stage" -cf - app fixtures | xz -T0 -9e >"$pkg" || exit 1
  ls -la "$pkg"
  # The device tool carries the whole working tree (tracked and untracked-not-ignored files) plus carried paths: 64 MiB.
  local size tree
  size=$(stat -c %s "$pkg")
  tree=$(git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 stat -c %s 2>/dev/null) |
    awk '{s+=$1} END {print s+0}')
  echo "archive $((size / 1048576)) MiB + working tree $((tree / 1048576)) MiB (limit 64 MiB)"
  if ((size + tree > 63 * 1024 * 1024)); then echo "warning: over the device tool's 64 MiB carry limit"; fi
}

run() {
  local stages=${1:-build,test,bench}
  OUT=${OUT:-$repo/bench/gpu/out}
  mkdir -p "$OUT"
  local log=$OUT/gpu-run.log results=$OUT/results.md
  exec > >(tee -a "$log") 2>&1
  echo "== $(date -u +%FT%TZ) stages: $stages"
  local gpu driver cuda
  gpu=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
  cuda=$(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' | head -1)
  nvidia-smi || echo "nvidia-smi failed"
  {
    echo "# InseqNative on $(hostname)"
    echo
    echo "| what | value |"
    echo "| --- | --- |"
    echo "| GPU | ${gpu:-none found} |"
    echo "| driver | ${driver:-?} |"
    echo "| nvcc | ${cuda:-not found} |"
    echo "| cmake | $(cmake --version | head -1) |"
    echo "| commit | $(git rev-parse --short HEAD 2>/dev/null || echo '?') |"
  } >"$results"
  local status=0 work=/tmp/inseq-gpu lib=$repo/native/build/gpu/libinseqnative_cuda.so

  if [[ ,$stages, == *,build,* ]]; then
    echo "== build"
    local t0=$SECONDS
    if cmake -S native -B native/build/gpu -DCMAKE_BUILD_TYPE=Release -DINSEQ_CUDA=ON -DINSEQ_NATIVE_TESTS=OFF \
         -DCMAKE_CUDA_ARCHITECTURES="${INSEQ_CUDA_ARCHS:-native}" && cmake --build native/build/gpu --parallel "$(nproc)"; then
      echo "| native build (CUDA flavour) | ok, $((SECONDS - t0)) s, architectures ${INSEQ_CUDA_ARCHS:-native} |" >>"$results"
    else
      echo "| native build (CUDA flavour) | FAILED after $((SECONDS - t0)) s (see gpu-run.log) |" >>"$results"
      return 1
    fi
  fi
  [[ -f $lib ]] || { echo "no $lib: run the build stage first"; return 1; }
  export INSEQ_NATIVE_LIBRARY=$lib DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  if [[ ,$stages, == *,test,* || ,$stages, == *,bench,* ]]; then
    [[ -f $pkg ]] || { echo "no $pkg: run '$0 package' on the development machine and carry bench/gpu/pkg"; return 1; }
    if [[ ! -x $work/app/inseq ]]; then mkdir -p "$work" && xz -dc "$pkg" | tar -C "$work" -xf - || return 1; fi
    local shipped
    if [[ -f $work/fixtures/FROM_REPO ]]; then
      while read -r shipped; do
        [[ -e $work/fixtures/$shipped ]] || ln -s "$repo/$shipped" "$work/fixtures/$shipped"
      done <"$work/fixtures/FROM_REPO"
    fi
    export INSEQ_FIXTURES=${INSEQ_FIXTURES:-$work/fixtures}
  fi

  if [[ ,$stages, == *,test,* ]]; then
    echo "== test"
    local t0=$SECONDS tlog=$OUT/tests.log
    local filter=(-namespace InseqNative.Tests.Cuda)
    [[ ${TESTS:-cuda} == all ]] && filter=()
    "$work/app/InseqNative.Tests" "${filter[@]}" -noColor -xml "$OUT/tests.xml" 2>&1 | tee "$tlog"
    local rc=${PIPESTATUS[0]}
    local summary skipped_cuda
    summary=$(grep -E 'Total: *[0-9]+' "$tlog" | tail -1 | sed -E 's/^ *//')
    skipped_cuda=$(grep -cE 'InseqNative\.Tests\.Cuda\..*\[SKIP\]' "$tlog")
    echo "| tests | rc $rc, $((SECONDS - t0)) s: ${summary:-no summary} |" >>"$results"
    echo "| CUDA tests skipped | $skipped_cuda (must be 0 on a GPU) |" >>"$results"
    ((rc == 0 && skipped_cuda == 0)) || status=1
    grep -E '\[FAIL\]' "$tlog" | head -40 | sed 's/^/    /' >>"$results"
  fi

  if [[ ,$stages, == *,bench,* ]]; then
    echo "== bench"
    local blog=$OUT/bench.log
    # Issue 5's table: GPT-2-small shape, 20+20 and 256+256 tokens, saliency / input x gradient / IG-50 / attention,
    # fused vs stepwise, fp32 and TF32, and the fused pass's achieved TFLOP/s against the card's nominal peak (model
    # section, one 512-token sequence). BENCH_CUDA_ARGS / BENCH_CPU_ARGS replace the arguments.
    local cuda_args=${BENCH_CUDA_ARGS:---shape gpt2-small --precision fp32,tf32 --sections model,attribution --seq 512 --batch 1 --repeats 3 --gemm-size 4096 --lengths 20+20,256+256 --methods saliency,input_x_gradient,integrated_gradients,attention --ig-steps 50 --strategies fused,stepwise --max-seconds 100}
    local agg_args=${BENCH_AGG_ARGS:---shape gpt2-small --precision fp32 --sections attribution --lengths 256+256 --methods saliency,integrated_gradients --ig-steps 50 --strategies fused --no-granular --max-seconds 120}
    local cpu_args=${BENCH_CPU_ARGS:---shape gpt2-small --sections model --seq 128 --batch 1 --repeats 1 --gemm-size 1024}
    {
      echo
      echo "## inseq bench --device cuda $cuda_args"
      echo
      # shellcheck disable=SC2086
      timeout "${BENCH_CUDA_SECONDS:-380}" "$work/app/inseq" bench --device cuda $cuda_args 2>&1 || echo "(bench exited with $?)"
      echo
      echo "## inseq bench --device cuda $agg_args (aggregated output: norms on the GPU, [tokens x steps] to the host)"
      echo
      # shellcheck disable=SC2086
      timeout "${BENCH_AGG_SECONDS:-150}" "$work/app/inseq" bench --device cuda $agg_args 2>&1 || echo "(bench exited with $?)"
      echo
      echo "## inseq bench --device cpu $cpu_args (this machine's CPU, for comparison)"
      echo
      # shellcheck disable=SC2086
      timeout "${BENCH_CPU_SECONDS:-60}" "$work/app/inseq" bench --device cpu $cpu_args 2>&1 || echo "(bench exited with $?)"
    } | tee "$blog" >>"$results"
  fi
  echo "== done (status $status); results in $results"
  return $status
}

case "${1:-}" in
  package) package ;;
  run) shift; run "${1:-build,test,bench}" ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
