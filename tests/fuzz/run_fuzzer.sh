#!/usr/bin/env bash
# Runs a libFuzzer binary for a bounded time on a scratch copy of its seed
# corpus (the repo's corpus is never written). Fails if it finds a crash.
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
# libFuzzer's default exit code for a finding is 77, which meson reads as
# "skipped": findings and timeouts must fail the test.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus"
