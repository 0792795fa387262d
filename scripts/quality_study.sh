#!/usr/bin/env bash
# The decision-quality studies of the README, in parts that each fit a working session: full
# Manhattan days on the corrected day (shifts fitted to the workload, carried over midnight),
# 5 weekdays x seeds never used to train the shipped models (those used seeds 1000-1007),
# common random numbers, the packaged models. Every part resumes (--resume) where it stopped.
#
#   scripts/quality_study.sh PART [OUT]      # OUT = reports/quality; `make quality PART=...`
#
# PART (minutes on 2 cores, measured: README, "Regenerating the results"):
#   dispatch          the headline table: every value-based dispatch method against distance
#   reposition        10 % and the whole fleet managed, and the ceiling with 10 % managed
#   reposition-after  managed drivers offered to the policy at once and after one idle minute
#   supply            the 10 %-managed comparison with 1.3x the calibrated fleet
#   supply-1.5        the same with 1.5x
#   supply-following  v1d3 with and without the supply-following edge weights, beside
#                     distance, with 1x, 1.3x and 1.5x the calibrated fleet
#   real-days         dispatch and repositioning on real-like days (--real-days)
#   shocks            dispatch and repositioning on random shock days (--shocks random)
#   ablation          the paper's ablations of v1d3, and the offline net trained with HL-Gauss
#   coordination      managed drivers' income per online hour, 5 managed drivers to all
#   coordination-1.3  the same from 1 % to 25 % managed, with 1.3x the calibrated fleet
#   critic-free       the critic-free scorers (CRITIC_FREE, default ospo; "ospo grpo" once
#                     make models has built grpo.pt) beside distance, cvnet and v1d3, on the
#                     plain days and on random shock days
#   all               every part, in this order
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS="dispatch, reposition, reposition-after, supply, supply-1.5, supply-following, real-days,
shocks, ablation, coordination, coordination-1.3, critic-free, all"
PART=${1:?"usage: scripts/quality_study.sh PART [OUT] (PART: $PARTS)"}
OUT=${2:-reports/quality}
V1D3=${V1D3:-.venv/bin/v1d3}
PY=${PY:-$(dirname "$V1D3")/python}
SEEDS=${SEEDS:-3}
FIRST=${FIRST:-1}
mkdir -p "$OUT"  # the parts' JSON is written beside their study folders
DAYS=(--scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" --workers 2)
HEADROOM=(--weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" --dispatch v1d3)

CVNET_OWN="cvnet[pickup_penalty_per_km=10.0]"  # cvnet's own best edge weights (tuning.md §10)

dispatch() {  # every value-based method against distance matching, then v1d3 against each
  "$V1D3" evaluate "${DAYS[@]}" --dispatch "distance,online-td,tabular-td,cvnet,$CVNET_OWN,v1d3" \
    --reposition stay --baseline distance/stay --out "$OUT/dispatch" --resume
  "$PY" scripts/paired_differences.py "$OUT/dispatch" v1d3/stay cvnet/stay "$CVNET_OWN/stay" \
    online-td/stay tabular-td/stay | tee "$OUT/dispatch/paired.json"
}

REBALANCERS=min-cost-flow,zhang-pavone  # the field's rebalancers (docs/method.md §11.1)
WAIT="value[wait=forecast,k_ring=8]"  # value paying for the wait at a destination (§4.1)

managed_paired() {  # $1: a study folder. The wait model against the rebalancers and the paper's
  # rule, day by day, on the managed drivers' income per online hour
  "$PY" scripts/paired_differences.py "$1" "v1d3/$WAIT" v1d3/min-cost-flow v1d3/zhang-pavone \
    v1d3/value --metric income_per_online_hour_managed | tee "$1/paired.json"
}

reposition() {  # value against the baselines, 10 % of the fleet managed and all of it
  for share in 0.1 1.0; do
    "$V1D3" evaluate "${DAYS[@]}" --dispatch v1d3 \
      --reposition "stay,random,demand,value,$WAIT,$REBALANCERS" \
      --managed-share "$share" --baseline v1d3/stay --out "$OUT/reposition-$share" --resume
  done
  managed_paired "$OUT/reposition-0.1"
  # the wait model against the field's rebalancers, day by day, the whole fleet managed
  "$PY" scripts/paired_differences.py "$OUT/reposition-1.0" "v1d3/$WAIT" \
    v1d3/min-cost-flow v1d3/zhang-pavone | tee "$OUT/reposition-1.0/paired.json"
  # what repositioning could add at most with 10 % managed: their idle time beyond the 5
  # minutes after which a driver is offered to the policy, on the same days with all staying
  "$PY" scripts/reposition_headroom.py "${HEADROOM[@]}" --managed-share 0.1 \
    | tee "$OUT/reposition-headroom.json"
}

reposition_after() {  # offered at once (0 s) and after 1 idle minute, instead of 5
  for after in 0 60; do
    "$V1D3" evaluate "${DAYS[@]}" --managed-share 0.1 --reposition-after-s "$after" \
      --policies v1d3/stay,v1d3/value --baseline v1d3/stay \
      --out "$OUT/reposition-after-$after" --resume
  done
}

supply() {  # $1: fleet scale. Looser supply: what repositioning adds, and could add at most
  local scale=$1
  "$V1D3" evaluate "${DAYS[@]}" --fleet-scale "$scale" --managed-share 0.1 \
    --policies "distance/stay,v1d3/stay,v1d3/value,v1d3/$WAIT,v1d3/${REBALANCERS//,/,v1d3/}" \
    --baseline v1d3/stay --out "$OUT/supply-$scale" --resume
  "$PY" scripts/reposition_headroom.py "${HEADROOM[@]}" --managed-share 0.1 \
    --fleet-scale "$scale" | tee "$OUT/supply-$scale-headroom.json"
  managed_paired "$OUT/supply-$scale"
}

SUPPLY_FOLLOWING="v1d3[slack_drivers_per_order=2.0]"  # tuning.md §12

supply_following() {  # the value policies' edge weights as the fleet grows: v1d3 with the
  # supply-following rule against v1d3 without it and against distance, day by day
  local scale
  for scale in 1.0 1.3 1.5; do
    "$V1D3" evaluate "${DAYS[@]}" --fleet-scale "$scale" \
      --dispatch "distance,v1d3,$SUPPLY_FOLLOWING" --reposition stay --baseline distance/stay \
      --out "$OUT/supply-following-$scale" --resume
    "$PY" scripts/paired_differences.py "$OUT/supply-following-$scale" "$SUPPLY_FOLLOWING/stay" \
      v1d3/stay distance/stay | tee "$OUT/supply-following-$scale/paired.json"
  done
}

varied() {  # $1: folder name, the rest: the scenario option that varies the days
  local name=$1
  shift
  "$V1D3" evaluate "${DAYS[@]}" "$@" --dispatch distance,cvnet,v1d3 --reposition stay \
    --baseline distance/stay --out "$OUT/$name-dispatch" --resume
  "$PY" scripts/paired_differences.py "$OUT/$name-dispatch" v1d3/stay cvnet/stay \
    | tee "$OUT/$name-dispatch/paired.json"
  "$V1D3" evaluate "${DAYS[@]}" "$@" --managed-share 0.1 --policies v1d3/stay,v1d3/value \
    --baseline v1d3/stay --out "$OUT/$name-reposition" --resume
}

PAPER="forget_s=none"  # the paper's periodic ensemble instead of v1d3's continuous fading
ABLATION=(  # docs/method.md §9: each against distance and against cvnet
  distance cvnet "cvnet[model=cvnet-hl-gauss.pt]"  # offline only, squared error and HL-Gauss
  "v1d3[start=zero]" "v1d3[$PAPER,omega=1.0]"  # online only from zero; from offline, never blended
  "v1d3[$PAPER,omega=0.1]" "v1d3[$PAPER,omega=0.2]" "v1d3[$PAPER,omega=0.5]"  # every hour
  "v1d3[$PAPER,omega=0.1,ensemble_every_s=1800]" "v1d3[$PAPER,omega=0.2,ensemble_every_s=1800]"
  "v1d3[$PAPER,omega=0.5,ensemble_every_s=1800]"  # every half hour
  v1d3 "v1d3[model=cvnet-hl-gauss.pt]"  # the default (faded every round), over either net
)

ablation() {  # both offline nets trained here on the same historical days, then every variant
  local models=$OUT/ablation-models
  if [ ! -f "$models/cvnet-hl-gauss.pt" ]; then
    MODELS_OUT="$models" HISTORY="$OUT/ablation-history" LOSSES="mse hl-gauss" V1D3="$V1D3" \
      scripts/build_models.sh
  fi
  local IFS=,
  "$V1D3" evaluate "${DAYS[@]}" --models "$models" --dispatch "${ABLATION[*]}" \
    --reposition stay --baseline distance/stay --out "$OUT/ablation" --resume
  unset IFS
  local variants=("${ABLATION[@]:2}")
  "$PY" scripts/paired_differences.py "$OUT/ablation" cvnet/stay --over "${variants[@]/%//stay}" \
    | tee "$OUT/ablation/paired.json"
}

coordination() {  # managed drivers' income per online hour, 5 drivers to the whole fleet
  # (writes coordination.json, .csv and .svg in its folder)
  "$PY" scripts/coordination_study.py "${DAYS[@]}" --out "$OUT/coordination" --resume
}

coordination_loose() {  # the claim's range (1 % to 25 % managed) where repositioning has idle
  # time to work with: 1.3x the calibrated fleet (the supply part's)
  "$PY" scripts/coordination_study.py "${DAYS[@]}" --fleet-scale 1.3 --managed 1%,10%,25% \
    --out "$OUT/coordination-1.3" --resume
}

CRITIC_FREE=${CRITIC_FREE:-ospo}  # the packaged critic-free scorers (docs/method.md §13)

critic_free() {  # the critic-free scorers beside the value-based methods, plain and shock days
  local name p metric scorers=()
  for p in $CRITIC_FREE; do scorers+=("$p/stay"); done
  for name in plain shocks; do
    local days=("${DAYS[@]}")
    [ "$name" = shocks ] && days+=(--shocks random)
    "$V1D3" evaluate "${days[@]}" --dispatch "distance,cvnet,v1d3,${CRITIC_FREE// /,}" \
      --reposition stay --baseline distance/stay --out "$OUT/critic-free-$name" --resume
    # each scorer against distance, cvnet and v1d3, day by day; their answer rate and pickups
    for p in $CRITIC_FREE; do
      "$PY" scripts/paired_differences.py "$OUT/critic-free-$name" "$p/stay" distance/stay \
        cvnet/stay v1d3/stay | tee "$OUT/critic-free-$name/paired-$p.json"
    done
    for metric in answer_rate pickup_km_mean; do
      "$PY" scripts/paired_differences.py "$OUT/critic-free-$name" distance/stay \
        "${scorers[@]}" --over --metric "$metric" | tee "$OUT/critic-free-$name/paired-$metric.json"
    done
  done
}

case "$PART" in
  dispatch) dispatch ;;
  reposition) reposition ;;
  reposition-after) reposition_after ;;
  supply) supply 1.3 ;;
  supply-1.5) supply 1.5 ;;
  supply-following) supply_following ;;
  real-days) varied real-days --real-days ;;
  shocks) varied shocks --shocks random ;;
  ablation) ablation ;;
  coordination) coordination ;;
  coordination-1.3) coordination_loose ;;
  critic-free) critic_free ;;
  all)
    dispatch
    reposition
    reposition_after
    supply 1.3
    supply 1.5
    supply_following
    varied real-days --real-days
    varied shocks --shocks random
    ablation
    coordination
    coordination_loose
    critic_free
    ;;
  *)
    echo "error: PART must be one of $PARTS; got '$PART'" >&2
    exit 2
    ;;
esac
