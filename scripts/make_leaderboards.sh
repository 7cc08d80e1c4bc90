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
# Every run first, every leaderboard into a temporary folder, then all moved in: no output
# changes the checkout before the last one is built, so each sidecar's vqabench_git_dirty
# says whether the code (not a fresh leaderboard) differed from the commit.
for name in "${names[@]}"; do
  "$PY" -m vqabench run "configs/leaderboard/$name.toml" --out "runs/leaderboard/$name"
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for name in "${names[@]}"; do
  "$PY" -m vqabench leaderboard "runs/leaderboard/$name" --anchor x264 --out "$tmp/$name.csv"
done
for name in "${names[@]}"; do
  for f in "$name.csv" "$name.sequences.csv" "$name.csv.json"; do
    mv "$tmp/$f" "results/leaderboard/$f"
  done
done
