#!/usr/bin/env bash
# Regenerate every committed leaderboard in results/leaderboard/ from its config in
# configs/leaderboard/ (one run directory each under runs/leaderboard/, resumed if present).
#
#   scripts/make_leaderboards.sh                  # all leaderboards
#   scripts/make_leaderboards.sh mini-conventional  # just one
#
# A changed number is committed on purpose, with a line in CHANGELOG.md saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=()
  for cfg in configs/leaderboard/*.toml; do names+=("$(basename "$cfg" .toml)"); done
fi
for name in "${names[@]}"; do
  cfg="configs/leaderboard/$name.toml"
  "$PY" -m vqabench run "$cfg" --out "runs/leaderboard/$name"
  "$PY" -m vqabench leaderboard "runs/leaderboard/$name" --anchor x264 \
    --out "results/leaderboard/$name.csv"
done
