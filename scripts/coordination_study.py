"""Managed drivers' income per online hour against how many drivers are managed.

The paper's coordination claim: with one value function repositioning the managed drivers, their
income per online hour barely changes as more of the fleet is managed (Tang et al. 2021 report
less than 0.7 % from 100 to 2,000 managed drivers). For each managed setting — a number of
drivers (``5``: the KDD Cup 2020 repositioning task's) or a share of the fleet (``10%``) — this
runs one ``v1d3 evaluate`` study of ``DISPATCH/REPOSITION`` on the given days, in its own folder
``OUT/managed-<setting>`` (the simulation config differs), and reads it back. ``--resume`` reuses
each folder's finished runs; ``--no-run`` only reads the folders as they stand.

Two figures per setting, each a mean over days with its 95 % Student-t interval across days:
``income_per_online_hour_managed`` (the managed drivers' income over their online hours, pooled)
and ``income_per_online_hour_managed_kdd`` (the KDD Cup score: each managed driver's income over
its own online hours, averaged over the drivers). The competition summed each of its 5 drivers'
income and online time over the test days before dividing; here a driver exists on one day only
(each weekday and seed draws its fleet anew), so the per-driver ratio is a day's, averaged over
that day's managed drivers, and then over the days. Then, for both, the relative change from
``--change-from`` to ``--change-to`` (1 % to 25 % by default), paired by day (ratio of the mean
figures, delta-method interval, as ``summary.csv``).

Prints one JSON object and writes ``OUT/coordination.json``, ``OUT/coordination.csv`` (one row
per setting) and ``OUT/coordination.svg`` (both figures against the managed drivers, log scale).

    python scripts/coordination_study.py --out reports/quality/coordination \\
        --scenario manhattan --weekdays 0-4 --seeds 3 --first-seed 1 --workers 2 --resume
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pyarrow.parquet as pq

from v1d3.cli.evaluate import parse_int_list
from v1d3.cli.script_args import ArgumentParser
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import V1D3Error
from v1d3.eval.evaluate import evaluate
from v1d3.eval.study import STUDY_FILE, StudyConfig, study_command
from v1d3.eval.summary import mean_ci, paired_rel_diff
from v1d3.policies.models import packaged_models
from v1d3.policy_spec import parse_policy, policy_label
from v1d3.sim.config import SimConfig
from v1d3.text_files import json_text, read_json

FIGURES = ("income_per_online_hour_managed", "income_per_online_hour_managed_kdd")
"""The two figures of each setting (``metrics.json`` keys)."""
LABELS = {FIGURES[0]: "pooled over managed drivers", FIGURES[1]: "KDD Cup: mean of drivers"}
COLOURS = ("#1f77b4", "#d62728")
W, H, PAD = 720, 360, 56


def _strict(v: Any) -> Any:
    """``v`` with every non-finite number as null (strict JSON: an interval of one day, a
    change against a zero baseline)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _strict(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_strict(x) for x in v]
    return v


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@dataclass(frozen=True)
class Setting:
    """Who is managed: ``count`` drivers, or ``share`` of the fleet."""

    label: str
    """As given on the command line (``5``, ``10%``)."""
    count: int | None
    share: float | None

    @property
    def folder(self) -> str:
        return f"managed-{self.label.replace('%', 'pct')}"

    def sim(self) -> SimConfig:
        if self.count is not None:
            return SimConfig(managed_drivers=self.count)
        assert self.share is not None
        return SimConfig(managed_share=self.share)


def parse_settings(text: str) -> list[Setting]:
    """``5,1%,10%``: a whole number is a count of drivers, a number with ``%`` a share."""
    out: list[Setting] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            if part.endswith("%"):
                share = float(part[:-1]) / 100.0
                ok = 0 < share <= 1
                out.append(Setting(part, None, share))
            else:
                count = int(part)
                ok = count > 0
                out.append(Setting(part, count, None))
        except ValueError:
            ok = False
        if not ok:
            _fail(
                f"managed: expected drivers (5) or a share of the fleet in (0%, 100%] (10%), "
                f"got {part!r}"
            )
    if len({s.label for s in out}) != len(out) or not out:
        _fail(f"managed: expected distinct settings, got {text!r}")
    return out


def _study(args: Any, setting: Setting) -> StudyConfig:
    models = args.models if args.models is not None else packaged_models()
    scenario = ScenarioConfig(
        name=args.scenario,
        hours=args.hours,
        start_hour=args.start_hour,
        orders=args.orders,
        fleet_scale=args.fleet_scale,
    )
    policy = f"{args.dispatch}/{args.reposition}"
    return StudyConfig(
        policies=(policy,),
        weekdays=parse_int_list(args.weekdays, "weekdays"),
        seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)),
        baseline=policy,
        scenario=scenario,
        sim=setting.sim(),
        models=None if models is None else str(models),
    )


def read_days(
    folder: Path, setting: Setting, policy: str, fleet_scale: float
) -> dict[tuple[int, int], dict]:
    """The finished runs of ``policy`` in a study folder, by (weekday, seed); a study of another
    managed setting or fleet is refused."""
    try:
        doc = read_json(folder / STUDY_FILE, "study file")
        study = StudyConfig.from_dict(doc["study"])
        sim = study.sim
        t = pq.read_table(folder / "results.parquet").to_pydict()
    except (OSError, ValueError, KeyError, V1D3Error) as e:
        _fail(f"{folder}: not a finished study ({type(e).__name__}: {e}); run it first")
    if (sim.managed_drivers, sim.managed_share if sim.managed_drivers is None else None) != (
        setting.count,
        setting.share,
    ):
        _fail(
            f"{folder}: its study manages managed_drivers={sim.managed_drivers}, "
            f"managed_share={sim.managed_share}, not {setting.label}"
        )
    if study.scenario.fleet_scale != fleet_scale:
        _fail(
            f"{folder}: its study has fleet_scale={study.scenario.fleet_scale}, "
            f"not {fleet_scale} (--fleet-scale)"
        )
    keys = ("managed_drivers", *FIGURES)
    if any(k not in t for k in keys):
        _fail(f"{folder}/results.parquet: no column {next(k for k in keys if k not in t)!r}")
    rows = zip(
        t["policy"], t["weekday"], t["seed"], t["status"], *(t[k] for k in keys), strict=True
    )
    return {
        (w, s): dict(zip(keys, vals, strict=True))
        for p, w, s, st, *vals in rows
        if p == policy and st == "ok"
    }


def _interval(x: list[float]) -> dict[str, float | None]:
    m, lo, hi = mean_ci(x)
    return {
        k: None if math.isnan(v) else round(v, 5)
        for k, v in (("mean", m), ("ci_low", lo), ("ci_high", hi))
    }


def summarise(settings: list[Setting], days: dict[str, dict], a: str, b: str) -> dict[str, Any]:
    """The table's rows and the relative change from setting ``a`` to ``b``."""
    rows = []
    for s in settings:
        d = days[s.label]
        if not d:
            _fail(f"managed {s.label}: no finished run")
        count = [v["managed_drivers"] for v in d.values()]
        row: dict[str, Any] = {
            "managed": s.label,
            "managed_share": s.share,
            "days": len(d),
            "managed_drivers_mean": round(float(np.mean(count)), 1),
            "managed_drivers_min": int(min(count)),
            "managed_drivers_max": int(max(count)),
        }
        for k in FIGURES:
            row[k] = _interval([v[k] for v in d.values()])
        rows.append(row)
    both = sorted(set(days[a]) & set(days[b]))
    if len(both) < 2:
        _fail(f"change: fewer than 2 days with both managed {a} and {b}")
    change: dict[str, Any] = {"from": a, "to": b, "days": len(both)}
    for k in FIGURES:
        r, lo, hi = paired_rel_diff([days[b][d][k] for d in both], [days[a][d][k] for d in both])
        change[k] = {
            "rel_change": round(r, 5),
            "ci_low": round(lo, 5),
            "ci_high": round(hi, 5),
            "below_2pct": abs(r) < 0.02,
        }
    return {"table": rows, "change": change}


def table_csv(rows: list[dict[str, Any]]) -> str:
    head = [
        "managed",
        "managed_share",
        "days",
        "managed_drivers_mean",
        "managed_drivers_min",
        "managed_drivers_max",
    ]
    cols = head + [f"{k}_{s}" for k in FIGURES for s in ("mean", "ci_low", "ci_high")]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        flat = [r[c] for c in head] + [
            r[k][s] for k in FIGURES for s in ("mean", "ci_low", "ci_high")
        ]
        w.writerow(["" if v is None else v for v in flat])
    return buf.getvalue()


def figure_svg(rows: list[dict[str, Any]], change: dict[str, Any]) -> str:
    """Both figures (points, 95 % intervals as bars) against the managed drivers, log x."""
    xs = [max(r["managed_drivers_mean"], 1.0) for r in rows]
    vals = [v for r in rows for k in FIGURES for v in r[k].values() if v is not None]
    lo, hi = min(vals), max(vals)
    span = max(hi - lo, 1e-9)
    lo, hi = lo - 0.1 * span, hi + 0.1 * span
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    lx0, lx1 = (lx0 - 0.3, lx1 + 0.3) if lx1 - lx0 < 1e-9 else (lx0 - 0.1, lx1 + 0.1)
    x = lambda v: PAD + (math.log10(v) - lx0) / (lx1 - lx0) * (W - 2 * PAD)  # noqa: E731
    y = lambda v: H - PAD - (v - lo) / (hi - lo) * (H - 2 * PAD)  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        'font-family="sans-serif">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{PAD}" y="20" font-size="13">managed drivers\' income per online hour '
        "(95 % intervals across days)</text>",
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{PAD - 6}" y="{y(v) + 4:.1f}" font-size="10" '
            f'text-anchor="end">{v:.2f}</text>'
        )
    for r, xv in zip(rows, xs, strict=True):
        out.append(
            f'<text x="{x(xv):.1f}" y="{H - PAD + 14}" font-size="10" '
            f'text-anchor="middle">{html.escape(r["managed"])}</text>'
        )
    out.append(
        f'<text x="{W / 2}" y="{H - PAD + 30}" font-size="11" text-anchor="middle">'
        "managed (drivers or share of the fleet; log scale of the drivers)</text>"
    )
    for i, k in enumerate(FIGURES):
        c = COLOURS[i]
        dx = (i - 0.5) * 6  # the two series side by side at each setting
        pts = []
        for r, xv in zip(rows, xs, strict=True):
            m, a, b = r[k]["mean"], r[k]["ci_low"], r[k]["ci_high"]
            px = x(xv) + dx
            pts.append(f"{px:.1f},{y(m):.1f}")
            if a is not None and b is not None:
                out.append(
                    f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y(a):.1f}" y2="{y(b):.1f}" '
                    f'stroke="{c}"/>'
                )
            out.append(f'<circle cx="{px:.1f}" cy="{y(m):.1f}" r="3" fill="{c}"/>')
        out.append(
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="{c}" stroke-width="1.5"/>'
        )
        ch = change[k]
        text = (
            f"{LABELS[k]} ({k}): {change['from']} → {change['to']} "
            f"{100 * ch['rel_change']:+.2f} % [{100 * ch['ci_low']:+.2f}, "
            f"{100 * ch['ci_high']:+.2f}]"
        )
        out.append(
            f'<text x="{PAD + 4}" y="{40 + 14 * i}" font-size="11" fill="{c}">'
            f"{html.escape(text)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix + ".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _args() -> Any:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder of the studies and tables")
    ap.add_argument(
        "--managed",
        default="5,1%,10%,25%,50%,100%",
        help="settings: drivers (5) or shares of the fleet (10%%), comma-separated",
    )
    ap.add_argument("--change-from", default="1%", help="setting the change is measured from")
    ap.add_argument("--change-to", default="25%", help="setting the change is measured to")
    ap.add_argument("--scenario", default="manhattan")
    ap.add_argument("--weekdays", default="0-4", help="e.g. 0-4 or 1,3 (Monday = 0)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per weekday")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--start-hour", type=float, default=0.0, help="(short test runs)")
    ap.add_argument("--hours", type=float, default=24.0, help="(short test runs)")
    ap.add_argument("--orders", type=int, default=None, help="(short test runs)")
    ap.add_argument(
        "--fleet-scale",
        type=float,
        default=ScenarioConfig.fleet_scale,
        help="multiplier of the calibrated fleet (1.3 = 30 %% more drivers)",
    )
    ap.add_argument("--dispatch", default="v1d3")
    ap.add_argument("--reposition", default="value")
    ap.add_argument("--models", default=None, help="model folder (default: the packaged ones)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--resume", action="store_true", help="reuse each study's finished runs")
    ap.add_argument("--no-run", action="store_true", help="only read the study folders")
    return ap.parse_args()


def main() -> None:
    args = _args()
    settings = parse_settings(args.managed)
    labels = [s.label for s in settings]
    for name in ("change_from", "change_to"):
        if getattr(args, name) not in labels:
            _fail(f"{name}: {getattr(args, name)!r} is not one of --managed {args.managed!r}")
    try:  # the name as the study writes it (parameters in brackets sorted)
        policy = policy_label(*parse_policy(f"{args.dispatch}/{args.reposition}"))
    except V1D3Error as e:
        _fail(str(e))
    days: dict[str, dict] = {}
    for s in settings:
        folder = args.out / s.folder
        if not args.no_run:
            try:
                study = _study(args, s)
                print(f"managed {s.label}: {folder}", file=sys.stderr)
                evaluate(
                    study,
                    folder,
                    workers=max(1, args.workers),
                    resume=args.resume,
                    command=study_command(study, folder),
                )
            except V1D3Error as e:
                _fail(str(e))
        days[s.label] = read_days(folder, s, policy, args.fleet_scale)
    out = {
        "policy": policy,
        "scenario": args.scenario,
        "fleet_scale": args.fleet_scale,
        "out": str(args.out),
        **summarise(settings, days, args.change_from, args.change_to),
    }
    text = json_text(_strict(out), str(args.out / "coordination.json"), indent=2)
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "coordination.json", text + "\n")
    _write(args.out / "coordination.csv", table_csv(out["table"]))
    _write(args.out / "coordination.svg", figure_svg(out["table"], out["change"]))
    print(text)


if __name__ == "__main__":
    main()
