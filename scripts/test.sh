#!/usr/bin/env bash
# Runs all of Savin's tests: unit, property, end-to-end against the real daemon, crash, lab tests
# in network namespaces (these need root; without it they skip, and under CI=true they fail),
# and a bounded fuzz run of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --workspace --release --locked
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
echo "all tests passed"
