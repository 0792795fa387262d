#!/usr/bin/env bash
# Build the pre-trained `manhattan` models shipped in src/v1d3/data/models/:
# cvnet.pt (offline CVNet, used by the `cvnet` and `v1d3` policies), tabular-td.pt, and the
# critic-free scorers ospo.pt and grpo.pt (docs/method.md §13).
#
#   scripts/build_models.sh            # about 10-15 minutes on 2 CPU cores, then ospo and grpo
#                                      # about 25 minutes each
#
# 1. simulate DAYS historical days of the manhattan scenario with `distance` dispatch on seeds
#    SEED, SEED+1, ... (weekdays cycling Monday-Friday; full 24-hour days, default fleet);
# 2. learn both models from those days' event logs (cvnet holds the last day out for early
#    stopping; tabular-td uses all of them).
# The seeds, weekdays and training settings are recorded in each checkpoint's metadata and in
# src/v1d3/data/models/README.md. Evaluation seeds must not overlap SEED .. SEED+DAYS-1.
#
# MODELS_OUT (default the package's models folder) and HISTORY (default build/model-history)
# move the output and the simulated days; LOSSES="mse hl-gauss" also trains the CVNet with the
# HL-Gauss loss (docs/method.md §8) on the same days, as cvnet-hl-gauss.pt (the ablation of
# `make quality PART=ablation`); BEHAVIOUR (default distance) is the dispatch policy the history
# days are simulated with (cvnet: one step of policy iteration, docs/results/tuning.md §8).
# 3. train ospo and grpo (SCORERS, default "ospo grpo"; "" skips them) on the same SCORER_DAYS
#    rollouts of ROLLOUT_HOURS hours each (seeds SCORER_SEED, SCORER_SEED+1, ...), two at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

DAYS=${DAYS:-8}
SEED=${SEED:-1000}
EPOCHS=${EPOCHS:-30}
V1D3=${V1D3:-.venv/bin/v1d3}
HISTORY=${HISTORY:-build/model-history}
OUT=${MODELS_OUT:-src/v1d3/data/models}
LOSSES=${LOSSES:-mse}
BEHAVIOUR=${BEHAVIOUR:-distance}
SCORERS=${SCORERS-ospo grpo}
SCORER_DAYS=${SCORER_DAYS:-48}
SCORER_SEED=${SCORER_SEED:-5000}
ROLLOUT_HOURS=${ROLLOUT_HOURS:-6}

rm -rf "$HISTORY"
mkdir -p "$HISTORY" "$OUT"
for ((i = 0; i < DAYS; i++)); do
  seed=$((SEED + i))
  "$V1D3" simulate --scenario manhattan --weekday $((i % 5)) --seed "$seed" \
    --dispatch "$BEHAVIOUR" --out "$HISTORY/day-$seed" >/dev/null
  echo "simulated day $((i + 1))/$DAYS (seed $seed, weekday $((i % 5)))"
done
for loss in $LOSSES; do
  case "$loss" in
    mse) to="$OUT" ;;
    hl-gauss) to="$HISTORY/../cvnet-$loss" ;;
    *) echo "error: LOSSES: expected mse and/or hl-gauss, got '$loss'" >&2; exit 2 ;;
  esac
  "$V1D3" train --scenario manhattan --method cvnet --trajectories "$HISTORY" --seed "$SEED" \
    --epochs "$EPOCHS" --device cpu --loss "$loss" --out "$to"
  if [ "$loss" != mse ]; then
    mv "$to/cvnet.pt" "$OUT/cvnet-$loss.pt"
  fi
done
"$V1D3" train --scenario manhattan --method tabular-td --trajectories "$HISTORY" --seed "$SEED" \
  --out "$OUT"
for method in $SCORERS; do
  "$V1D3" train --scenario manhattan --method "$method" --days "$SCORER_DAYS" \
    --rollout-hours "$ROLLOUT_HOURS" --seed "$SCORER_SEED" --workers 2 --device cpu --out "$OUT"
done
ls -l "$OUT"
