#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (seconds per target, default 30). cargo-fuzz needs
# nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-30}
if ! cargo fuzz --version >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "fuzz: cargo-fuzz is missing (CI=true: this is a failure)" >&2
    exit 1
  fi
  echo "SKIP fuzz: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2
  exit 0
fi
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "fuzz: $target for ${secs}s"
  # Seeds kept in the repository start the corpus where valid input is hard to guess.
  if [ -d seeds/"$target" ]; then
    mkdir -p corpus/"$target"
    cp seeds/"$target"/* corpus/"$target"/
  fi
  out=$(mktemp)
  cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$out" 2>&1 || true
  grep -E '^(Done|INFO: -max_total_time)|SUMMARY|panicked|ERROR' "$out" || true
  # libFuzzer leaves a crash-* artifact behind when it finds one.
  if ls artifacts/"$target"/crash-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls artifacts/"$target"/crash-*)" >&2
    rm -f "$out"
    exit 1
  fi
  # A run that never reached its time limit did not fuzz (a target that no longer builds
  # once went unnoticed this way): show why and fail.
  if ! grep -q '^Done' "$out"; then
    echo "fuzz: $target did not run to its time limit:" >&2
    tail -n 30 "$out" >&2
    rm -f "$out"
    exit 1
  fi
  rm -f "$out"
done
