#!/usr/bin/env bash
# Runs one libFuzzer binary for a bounded time on a scratch copy of its committed corpus.
# run_fuzzer.sh FUZZER CORPUS_DIR WORK_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 seconds=$4
rm -rf "$work"
mkdir -p "$work/corpus"
if [ -d "$corpus" ]; then cp -r "$corpus/." "$work/corpus/"; fi
echo "fuzzing $(basename "$fuzzer") for ${seconds}s from $(ls "$work/corpus" | wc -l) seed inputs"
set +e
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=1048576 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
rc=$?
set -e
tail -n 20 "$work/log"
if [ $rc -ne 0 ]; then
  echo "FAILED: $(basename "$fuzzer") found a failing input; see $work/ (crash-*, leak-*, timeout-*)"
  ls -l "$work" | grep -E 'crash-|leak-|timeout-|oom-' || true
  exit 1
fi
