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
#   supply            the 10 %-managed comparison with 1.3x and 1.5x the calibrated fleet
#   real-days         dispatch and repositioning on real-like days (--real-days)
#   shocks            dispatch and repositioning on random shock days (--shocks random)
#   all               every part, in this order
set -euo pipefail
cd "$(dirname "$0")/.."
PART=${1:?"usage: scripts/quality_study.sh PART [OUT] (PART: dispatch, reposition, reposition-after, supply, real-days, shocks, all)"}
OUT=${2:-reports/quality}
V1D3=${V1D3:-.venv/bin/v1d3}
PY=${PY:-$(dirname "$V1D3")/python}
SEEDS=${SEEDS:-3}
FIRST=${FIRST:-1}
DAYS=(--scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" --workers 2)
HEADROOM=(--weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" --dispatch v1d3)

dispatch() {  # every value-based method against distance matching, then v1d3 against each
  "$V1D3" evaluate "${DAYS[@]}" --dispatch distance,online-td,tabular-td,cvnet,v1d3 \
    --reposition stay --baseline distance/stay --out "$OUT/dispatch" --resume
  "$PY" scripts/paired_differences.py "$OUT/dispatch" v1d3/stay cvnet/stay online-td/stay \
    tabular-td/stay | tee "$OUT/dispatch/paired.json"
}

reposition() {  # value against the baselines, 10 % of the fleet managed and all of it
  for share in 0.1 1.0; do
    "$V1D3" evaluate "${DAYS[@]}" --dispatch v1d3 --reposition stay,random,demand,value \
      --managed-share "$share" --baseline v1d3/stay --out "$OUT/reposition-$share" --resume
  done
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

supply() {  # looser supply: what repositioning adds, and could add at most
  for scale in 1.3 1.5; do
    "$V1D3" evaluate "${DAYS[@]}" --fleet-scale "$scale" --managed-share 0.1 \
      --policies distance/stay,v1d3/stay,v1d3/value --baseline v1d3/stay \
      --out "$OUT/supply-$scale" --resume
    "$PY" scripts/reposition_headroom.py "${HEADROOM[@]}" --managed-share 0.1 \
      --fleet-scale "$scale" | tee "$OUT/supply-$scale-headroom.json"
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

case "$PART" in
  dispatch) dispatch ;;
  reposition) reposition ;;
  reposition-after) reposition_after ;;
  supply) supply ;;
  real-days) varied real-days --real-days ;;
  shocks) varied shocks --shocks random ;;
  all)
    dispatch
    reposition
    reposition_after
    supply
    varied real-days --real-days
    varied shocks --shocks random
    ;;
  *)
    echo "error: PART must be one of dispatch, reposition, reposition-after, supply, real-days, shocks, all; got '$PART'" >&2
    exit 2
    ;;
esac
