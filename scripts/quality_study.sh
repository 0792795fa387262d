#!/usr/bin/env bash
# The decision-quality study of the README (issue "V1D3"): full Manhattan days, 5 weekdays × 3
# seeds never used to train the shipped models (those used seeds 1000-1007), common random
# numbers, the packaged models. About 3½ hours on 2 cores; --resume continues a broken run.
#
#   scripts/quality_study.sh [OUT]        # default OUT = reports/quality
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reports/quality}
V1D3=${V1D3:-.venv/bin/v1d3}
SEEDS=${SEEDS:-3}
FIRST=${FIRST:-1}

# dispatching: every value-based method against distance matching
"$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
  --dispatch distance,online-td,tabular-td,cvnet,v1d3 --reposition stay \
  --baseline distance/stay --out "$OUT/dispatch" --resume
# v1d3 against each value-based method, paired by day
"$(dirname "$V1D3")/python" scripts/paired_differences.py "$OUT/dispatch" v1d3/stay \
  cvnet/stay online-td/stay tabular-td/stay | tee "$OUT/dispatch/paired.json"

# repositioning with 10 % of the fleet managed, then the whole fleet: value against the baselines
for share in 0.1 1.0; do
  "$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
    --dispatch v1d3 --reposition stay,random,demand,value --managed-share "$share" \
    --baseline v1d3/stay --out "$OUT/reposition-$share" --resume
done
# what repositioning could add at most with 10 % managed: their idle time beyond the 5 minutes
# after which a driver is offered to the policy, on the same days with everyone staying
"$(dirname "$V1D3")/python" scripts/reposition_headroom.py --weekdays 0-4 --seeds "$SEEDS" \
  --first-seed "$FIRST" --managed-share 0.1 --dispatch v1d3 | tee "$OUT/reposition-headroom.json"
# managed drivers offered to the policy sooner than after 5 idle minutes: at once (0 s) and
# after 1 minute (stay is the same run whatever the threshold: nobody is moved)
for after in 0 60; do
  "$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
    --managed-share 0.1 --reposition-after-s "$after" --policies v1d3/stay,v1d3/value \
    --baseline v1d3/stay --out "$OUT/reposition-after-$after" --resume
done

# the same 10 %-managed comparison with 10, 30 and 50 % more drivers than the calibrated fleet:
# how much repositioning adds, and could add at most, as supply loosens (distance/stay places
# each fleet against the 70-85 % answer-rate band of the decision-quality figures)
for scale in 1.1 1.3 1.5; do
  "$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
    --fleet-scale "$scale" --managed-share 0.1 --policies distance/stay,v1d3/stay,v1d3/value \
    --baseline v1d3/stay --out "$OUT/supply-$scale" --resume
  "$(dirname "$V1D3")/python" scripts/reposition_headroom.py --weekdays 0-4 --seeds "$SEEDS" \
    --first-seed "$FIRST" --managed-share 0.1 --dispatch v1d3 --fleet-scale "$scale" \
    | tee "$OUT/supply-$scale-headroom.json"
done

# shifts carried over midnight (--overnight-shifts): the same dispatch comparison on the same
# fleet and on 0.9x it (where distance answers about 80 % again), and value repositioning
for scale in 1.0 0.9; do
  "$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
    --overnight-shifts --fleet-scale "$scale" --policies distance/stay,v1d3/stay \
    --baseline distance/stay --out "$OUT/overnight-dispatch-$scale" --resume
done
"$V1D3" evaluate --scenario manhattan --weekdays 0-4 --seeds "$SEEDS" --first-seed "$FIRST" \
  --overnight-shifts --managed-share 0.1 --policies v1d3/stay,v1d3/value \
  --baseline v1d3/stay --out "$OUT/overnight-reposition-0.1" --resume

# days that differ zone by zone (--zone-day-sd 0.15, as measured over a winter quarter of TLC
# records): the online half of v1d3 against its offline network alone
"$V1D3" evaluate --scenario manhattan --zone-day-sd 0.15 --weekdays 0-4 --seeds 2 \
  --first-seed "$FIRST" --dispatch cvnet,v1d3 --reposition stay --baseline cvnet/stay \
  --out "$OUT/varied-days" --resume
