"""``report.html``: one self-contained page that opens offline (plotly.js embedded once, inline).

Sections: the comparison table (mean ± 95% CI, paired difference to the baseline ± CI, the best
policy per column marked); answer rate, completed income and passenger wait by hour of day; a
map of the city's cells (H3 hexagons from ``h3.cell_to_boundary``, or cell centres for other
grids) with orders, unserved orders and idle drivers by cell for a chosen policy and hour; for a
policy with an online value, the map of its online correction ``V_on − V_off`` at the end of a
chosen hour beside that hour's orders (:class:`CorrectionMapConfig`); the distributions of
pickup distances and of drivers' income per online hour; failed runs; the study's
configuration, the constants each policy resolved to and the command that regenerates the
report.
"""

from __future__ import annotations

import html
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from v1d3 import __version__
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.eval.metrics import pooled_by_hour
from v1d3.eval.summary import HIGHER_IS_BETTER, LOWER_IS_BETTER, SummaryRow
from v1d3.files import atomic_write_text
from v1d3.policy_spec import parse_policy, policy_label
from v1d3.text_files import json_text
from v1d3.value.corrections import hour_end_corrections

__all__ = [
    "TABLE_METRICS",
    "CorrectionMapConfig",
    "EvaluationLike",
    "RecordLike",
    "StudyLike",
    "render_report",
    "write_report",
]


# --- what the report reads ---------------------------------------------------------------------
# The report reads a finished study through these shapes, which evaluate's Evaluation, RunRecord
# and study's StudyConfig have: it depends on what a study produced, not on the code that runs
# one (evaluate writes the report, so importing it here would make an import circle, and the
# study model would bring in the policy registry).


class StudyLike(Protocol):
    """The study's fields the report shows."""

    @property
    def policies(self) -> tuple[str, ...]: ...
    @property
    def baseline(self) -> str: ...
    @property
    def weekdays(self) -> tuple[int, ...]: ...
    @property
    def seeds(self) -> tuple[int, ...]: ...
    @property
    def scenario(self) -> ScenarioConfig: ...
    def to_dict(self) -> dict[str, Any]: ...


class RecordLike(Protocol):
    """One finished run's figures (units and shapes: :class:`~v1d3.eval.evaluate.RunRecord`)."""

    @property
    def policy(self) -> str: ...
    @property
    def hourly(self) -> dict[str, np.ndarray]: ...
    @property
    def cell_orders(self) -> np.ndarray: ...
    @property
    def cell_unserved(self) -> np.ndarray: ...
    @property
    def cell_idle_min(self) -> np.ndarray: ...
    @property
    def pickup_km(self) -> np.ndarray: ...
    @property
    def driver_hourly_income(self) -> np.ndarray: ...
    @property
    def cell_lat(self) -> np.ndarray: ...
    @property
    def cell_lng(self) -> np.ndarray: ...
    @property
    def cell_labels(self) -> np.ndarray: ...
    @property
    def h3_resolution(self) -> int | None: ...
    @property
    def policies(self) -> dict[str, Any]: ...
    @property
    def shocks(self) -> list[dict[str, Any]]: ...
    @property
    def correction_t_s(self) -> np.ndarray | None: ...
    @property
    def correction(self) -> np.ndarray | None: ...


class EvaluationLike(Protocol):
    """A finished study: its config, rows, summary, failures and records."""

    @property
    def study(self) -> StudyLike: ...
    @property
    def results(self) -> Sequence[dict[str, Any]]: ...
    @property
    def summary(self) -> Sequence[SummaryRow]: ...
    @property
    def failures(self) -> Sequence[dict[str, Any]]: ...
    @property
    def records(self) -> Sequence[RecordLike]: ...
    def regenerate_command(
        self, report_hour: int | None = None, correction: CorrectionMapConfig | None = None
    ) -> str:
        """The command line that regenerates the study folder and this report."""
        ...


@dataclass(frozen=True)
class CorrectionMapConfig:
    """Which online correction the report maps (``v1d3 evaluate`` options of the same names)."""

    correction_policy: str | None = None
    """Policy (``dispatch/reposition``) whose online correction is mapped (default: the first
    of the study's policies whose dispatch recorded one, such as ``v1d3/stay``)."""
    correction_hour: int | None = None
    """Hour of day, 0..23, at whose end the correction is mapped (default: the hour whose
    correction is largest in absolute value, mean over the policy's runs)."""

    def __post_init__(self) -> None:
        if self.correction_policy is not None:  # written as the study writes it: v1d3 → v1d3/stay
            label = policy_label(*parse_policy(self.correction_policy))
            object.__setattr__(self, "correction_policy", label)
        h = self.correction_hour
        if h is not None and (isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 23):
            raise ConfigError(f"correction_hour: expected an hour 0..23, got {h!r}")


# --- formats and helpers -------------------------------------------------------------------------

TABLE_METRICS: dict[str, tuple[str, Callable[[float], str]]] = {
    "answer_rate": ("Answer rate", lambda v: f"{100 * v:.2f}%"),
    "completion_rate": ("Completion rate", lambda v: f"{100 * v:.2f}%"),
    "total_income": ("Completed income", lambda v: f"{v:,.0f}"),
    "income_per_online_hour": ("Income / online h", lambda v: f"{v:.2f}"),
    "wait_mean_s": ("Passenger wait (s)", lambda v: f"{v:.1f}"),
    "pickup_km_mean": ("Pickup (km)", lambda v: f"{v:.3f}"),
    "cancel_rate": ("Cancel rate", lambda v: f"{100 * v:.2f}%"),
    "utilisation": ("Utilisation", lambda v: f"{100 * v:.1f}%"),
    "income_gini": ("Income Gini", lambda v: f"{v:.3f}"),
}
"""Columns of the comparison table: metric → (header, formatter)."""

DIST_SAMPLE = 3000
"""Values per policy drawn for each distribution plot (a seeded sample of the pooled runs)."""
MAP_CLASSES = 7
"""Colour classes of the map (plus one for cells with nothing)."""
_ZERO_COLOUR = "rgb(236, 236, 236)"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _colours(n: int) -> list[str]:
    import plotly.colors as pc

    base = list(pc.qualitative.Plotly) + list(pc.qualitative.D3)
    return [base[i % len(base)] for i in range(n)]


def _fig_html(fig: Any, div_id: str) -> str:
    return str(
        fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_PLOT_CONFIG)
    )


def _nan(v: float) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# --- the comparison table ----------------------------------------------------------------------


def _best(summary: Sequence[SummaryRow], policies: Sequence[str]) -> dict[str, set[str]]:
    """Per ranked metric, the policies with the best mean (ties all marked)."""
    cell = {(r.policy, r.metric): r for r in summary}
    best: dict[str, set[str]] = {}
    if len(policies) < 2:
        return best
    for m in TABLE_METRICS:
        sign = 1.0 if m in HIGHER_IS_BETTER else -1.0 if m in LOWER_IS_BETTER else 0.0
        means = {
            p: cell[(p, m)].mean
            for p in policies
            if (p, m) in cell and cell[(p, m)].n and not _nan(cell[(p, m)].mean)
        }
        if not sign or not means:
            continue
        top = max(sign * v for v in means.values())
        best[m] = {p for p, v in means.items() if math.isclose(sign * v, top, rel_tol=1e-12)}
    return best


def _table_html(summary: Sequence[SummaryRow], policies: Sequence[str], baseline: str) -> str:
    cell = {(r.policy, r.metric): r for r in summary}
    best = _best(summary, policies)
    head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in TABLE_METRICS.values())
    body = []
    for p in policies:
        tds = []
        n = next((cell[(p, m)].n for m in TABLE_METRICS if (p, m) in cell), 0)
        failed = next((cell[(p, m)].failed for m in TABLE_METRICS if (p, m) in cell), 0)
        for m, (_, fmt) in TABLE_METRICS.items():
            r = cell.get((p, m))
            if r is None or r.n == 0:
                tds.append("<td>–</td>")
                continue
            main = f"<span class='v'>{fmt(r.mean)}</span>"
            if not _nan(r.ci_low):
                main += f"<div class='ci'>± {fmt((r.ci_high - r.ci_low) / 2)}</div>"
            if p == baseline:
                diff = "<div class='diff'>baseline</div>"
            elif _nan(r.rel_diff):
                diff = "<div class='diff'>Δ–</div>"
            else:
                d = f"Δ{100 * r.rel_diff:+.2f}%"
                tone = ""
                if not _nan(r.rel_diff_ci_low):
                    d += f" ± {50 * (r.rel_diff_ci_high - r.rel_diff_ci_low):.2f}%"
                    up, down = r.rel_diff_ci_low > 0, r.rel_diff_ci_high < 0
                    if (up and m in HIGHER_IS_BETTER) or (down and m in LOWER_IS_BETTER):
                        tone = " better"
                    elif (down and m in HIGHER_IS_BETTER) or (up and m in LOWER_IS_BETTER):
                        tone = " worse"
                    elif up or down:
                        tone = " differs"
                diff = f"<div class='diff{tone}'>{d}</div>"
            is_best = p in best.get(m, ())
            mark = " class='best' title='best in this column'" if is_best else ""
            star = "★ " if is_best else ""
            tds.append(f"<td{mark}>{star}{main}{diff}</td>")
        note = f"<br><span class='ci'>n={n}{f', {failed} failed' if failed else ''}</span>"
        body.append(f"<tr><th>{html.escape(p)}{note}</th>{''.join(tds)}</tr>")
    return (
        "<div class='scroll'><table id='comparison' class='comparison'>"
        f"<thead><tr><th>policy</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


# --- plots -------------------------------------------------------------------------------------


_SHOCK_EFFECTS = ("added_orders", "removed_orders", "added_drivers")
"""Keys of a run's shock record that are its effects in that run, not the shock itself."""
_SHOCK_COLOUR = {
    "event": "#8e44ad",
    "weather": "#2980b9",
    "supply": "#e67e22",
    "closure": "#c0392b",
}


def _study_shocks(records: Sequence[RecordLike]) -> list[dict[str, Any]]:
    """The shocks of the study's runs, each once (a random one once per day it was drawn on),
    with how many runs had it."""
    seen: dict[str, dict[str, Any]] = {}
    for rec in records:
        for shock in getattr(rec, "shocks", []):
            key = json_text({k: v for k, v in shock.items() if k not in _SHOCK_EFFECTS}, "shock")
            if key not in seen:
                seen[key] = {**shock, "runs": 0}
            seen[key]["runs"] += 1
    return list(seen.values())


def _shade_shocks(fig: Any, shocks: list[dict[str, Any]]) -> None:
    """Shade each shock's window on the hourly plots (hour h is drawn at x = h)."""
    for s in shocks:
        fig.add_vrect(
            x0=s["start_h"] - 0.5,
            x1=s["end_h"] - 0.5,
            fillcolor=_SHOCK_COLOUR.get(s["kind"], "#7f8c8d"),
            opacity=0.12,
            line_width=0,
            row="all",
            col="all",
        )


def _mark_shocks(fig: Any, shocks: list[dict[str, Any]], panels: int | None = None) -> None:
    """Mark each shock's place on every map panel (city-wide shocks have none); ``panels``:
    how many (default: the main map's)."""
    import plotly.graph_objects as go

    placed = [s for s in shocks if s.get("place")]
    if not placed:
        return
    colours = [_SHOCK_COLOUR.get(s["kind"], "#7f8c8d") for s in placed]
    for col in range(1, (panels or len(_MAP_PANELS)) + 1):
        fig.add_trace(
            go.Scatter(
                x=[s["place"][1] for s in placed],
                y=[s["place"][0] for s in placed],
                mode="markers+text",
                text=[s["kind"] for s in placed],
                textposition="top center",
                marker={
                    "symbol": "star",
                    "size": 14,
                    "color": colours,
                    "line": {"width": 1, "color": "black"},
                },  # fmt: skip
                hovertext=[_shock_label(s) for s in placed],
                hoverinfo="text",
                showlegend=False,
            ),
            row=1,
            col=col,
        )


def _shock_label(s: dict[str, Any]) -> str:
    """One line: kind, window, magnitude and place."""
    zones = "; ".join(s.get("zones") or ())
    if s["kind"] == "event":
        place = s.get("zone") or f"({s.get('lat')}, {s.get('lng')})"
        what = f"{s.get('trips')} trips {s.get('direction')} {place}"
    elif s["kind"] == "weather":
        what = f"demand ×{s.get('demand')}, speed ×{s.get('speed')}, {zones or 'city-wide'}"
    elif s["kind"] == "supply":
        what = f"drivers ×{s.get('drivers')}"
    else:
        what = f"{zones} closed, travel ×{s.get('slowdown')}"
    drawn = " (drawn)" if s.get("drawn") else ""
    return f"{s['kind']}{drawn} {s['start_h']:g}–{s['end_h']:g} h: {what}"


def _shocks_html(shocks: list[dict[str, Any]]) -> str:
    """The study's shocks as a list (shaded by hour, starred on the map)."""
    if not shocks:
        return ""
    items = "".join(f"<li>{html.escape(_shock_label(s))} — {s['runs']} run(s)</li>" for s in shocks)
    return (
        "<h2>Shocks</h2><p class='note'>Shaded on the hourly plots, starred on the map "
        f"(docs/simulation.md, Shocks).</p><ul id='shocks'>{items}</ul>"
    )


def _hourly_figure(
    by_policy: dict[str, list[RecordLike]],
    colours: dict[str, str],
    shocks: list[dict[str, Any]] | None = None,
) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("Answer rate", "Completed income", "Passenger wait (s)"),
        horizontal_spacing=0.07,
    )
    hours = list(range(24))
    for p, recs in by_policy.items():
        pooled = pooled_by_hour([r.hourly for r in recs])
        series = (pooled["answer_rate"], pooled["income"], pooled["wait_mean_s"])
        for col, y in enumerate(series, start=1):
            fig.add_trace(
                go.Scatter(
                    x=hours,
                    y=[None if np.isnan(v) else round(float(v), 4) for v in y],
                    mode="lines+markers",
                    name=p,
                    legendgroup=p,
                    showlegend=col == 1,
                    line={"color": colours[p]},
                    marker={"size": 4},
                ),
                row=1,
                col=col,
            )
    active = [
        h for h in hours if any(r.hourly["orders"][h] > 0 for rs in by_policy.values() for r in rs)
    ]
    lo, hi = (min(active), max(active)) if active else (0, 23)
    fig.update_xaxes(
        title_text="hour of day", range=[lo - 0.5, hi + 0.5], dtick=1 if hi - lo < 8 else 3
    )
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    _shade_shocks(fig, shocks or [])
    fig.update_layout(
        template="plotly_white",
        height=420,
        margin={"t": 40, "b": 40, "l": 50, "r": 20},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def _sample(values: list[np.ndarray], rng: np.random.Generator) -> list[float]:
    x = np.concatenate(values) if values else np.zeros(0)
    if x.size > DIST_SAMPLE:
        x = x[np.sort(rng.choice(x.size, DIST_SAMPLE, replace=False))]
    return [round(float(v), 3) for v in x]


def _distribution_figure(by_policy: dict[str, list[RecordLike]], colours: dict[str, str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Pickup distance (km)", "Drivers' income per online hour"),
        horizontal_spacing=0.08,
    )
    rng = np.random.default_rng(0)
    for p, recs in by_policy.items():
        for col, attr in ((1, "pickup_km"), (2, "driver_hourly_income")):
            fig.add_trace(
                go.Violin(
                    y=_sample([getattr(r, attr) for r in recs], rng),
                    name=p,
                    legendgroup=p,
                    showlegend=False,
                    line={"color": colours[p]},
                    box={"visible": True},
                    meanline={"visible": True},
                    points=False,
                    spanmode="hard",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(
        template="plotly_white", height=420, margin={"t": 40, "b": 40, "l": 50, "r": 20}
    )
    return fig


def _cell_geometry(rec: RecordLike) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Per cell, the x (lng) and y (lat) of its outline (closed, then a gap) or of its centre."""
    gx: list[list[float | None]] = []
    gy: list[list[float | None]] = []
    if rec.h3_resolution is not None:
        import h3

        for label in rec.cell_labels.tolist():
            ring = h3.cell_to_boundary(str(label))
            lat = [round(a, 6) for a, _ in ring]
            lng = [round(b, 6) for _, b in ring]
            gx.append([*lng, lng[0], None])
            gy.append([*lat, lat[0], None])
    else:
        for a, b in zip(rec.cell_lat.tolist(), rec.cell_lng.tolist(), strict=True):
            gx.append([round(b, 6)])
            gy.append([round(a, 6)])
    return gx, gy


@dataclass(frozen=True)
class _Panel:
    """One map panel: a per-cell figure of the run records, coloured in classes."""

    key: str
    title: str
    attr: str
    """RunRecord field: an array of shape (24, cells)."""
    colour_scale: str
    """Plotly colour scale name."""
    scale: float
    """Factor from the record's unit to the one shown (idle minutes / 60 = idle drivers)."""


_MAP_PANELS = (
    _Panel("orders", "Orders", "cell_orders", "YlOrRd", 1.0),
    _Panel("unserved", "Unserved orders", "cell_unserved", "Reds", 1.0),
    _Panel("idle", "Idle drivers (mean)", "cell_idle_min", "Blues", 1 / 60),
)


@dataclass(frozen=True)
class _MapCells:
    """The cells as drawn: outlines (or centres) and centres, from one record."""

    labels: list[str]
    gx: list[list[float | None]]
    gy: list[list[float | None]]
    lat: np.ndarray
    lng: np.ndarray
    polygons: bool

    @classmethod
    def of(cls, rec: RecordLike) -> _MapCells:
        gx, gy = _cell_geometry(rec)
        labels = [str(s) for s in rec.cell_labels.tolist()]
        polygons = rec.h3_resolution is not None
        return cls(labels, gx, gy, rec.cell_lat, rec.cell_lng, polygons)


def _map_hours(vals: dict[str, dict[str, np.ndarray]], hour: int | None) -> tuple[list[int], int]:
    """The hours with anything to show, and the one shown first: ``hour`` when it is one of
    them, else the busiest hour (no ``hour``) or the first one (an ``hour`` with nothing)."""
    total = np.sum([v for v in vals["orders"].values()], axis=0).sum(axis=1)
    active = np.sum([np.sum(list(vals[k].values()), axis=0).sum(axis=1) for k in vals], axis=0)
    hours = [h for h in range(24) if active[h] > 0] or list(range(24))
    if hour is None or hour not in hours:
        hour = hours[int(np.argmax(total[hours]))] if hour is None else hours[0]
    return hours, hour


def _classes(
    vals: dict[str, np.ndarray], hours: list[int]
) -> tuple[float, dict[str, list[list[int]]], dict[str, list[list[float]]]]:
    """The top of the classes, and per policy and shown hour each cell's class (-1: nothing)
    and value (rounded)."""
    # classes up to the 98th percentile of the non-zero values: a few busy cells would
    # otherwise wash out the rest (the top class holds everything above)
    pos = np.concatenate([v[hours].ravel() for v in vals.values()])
    pos = pos[pos > 0]
    vmax = float(np.percentile(pos, 98)) if pos.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    classes = {
        p: [
            np.where(v[h] > 0, np.minimum(v[h] / vmax * MAP_CLASSES, MAP_CLASSES - 1), -1)
            .astype(int)
            .tolist()
            for h in hours
        ]
        for p, v in vals.items()
    }
    values = {p: [np.round(v[h], 2).tolist() for h in hours] for p, v in vals.items()}
    return vmax, classes, values


def _class_traces(
    fig: Any,
    col: int,
    title: str,
    colours: list[str],
    cls: list[int],
    vmax: float,
    cells: _MapCells,
) -> list[int]:
    """One trace per class (the zero class first) holding the cells ``cls`` puts in it; returns
    their indices in ``fig.data``."""
    import plotly.graph_objects as go

    ids = []
    for c, colour in enumerate(colours):
        members = [i for i, ci in enumerate(cls) if ci + 1 == c]
        xs = [v for i in members for v in cells.gx[i]]
        ys = [v for i in members for v in cells.gy[i]]
        lo = 0 if c == 0 else (c - 1) * vmax / MAP_CLASSES
        hi = 0 if c == 0 else c * vmax / MAP_CLASSES
        name = f"{title}: 0" if c == 0 else f"{title}: {lo:.1f}–{hi:.1f}"
        if c == MAP_CLASSES:
            name = f"{title}: ≥ {lo:.1f}"
        common = {"x": xs, "y": ys, "name": name, "showlegend": False, "hoverinfo": "skip"}
        if cells.polygons:
            tr = go.Scatter(
                mode="lines",
                fill="toself",
                fillcolor=colour,
                line={"color": "rgba(255,255,255,0.9)", "width": 0.6},
                **common,
            )
        else:
            tr = go.Scatter(mode="markers", marker={"color": colour, "size": 7}, **common)
        fig.add_trace(tr, row=1, col=col)
        ids.append(len(fig.data) - 1)
    return ids


def _hover_trace(
    fig: Any,
    col: int,
    title: str,
    colours: list[str],
    vals: list[float],
    vmax: float,
    cells: _MapCells,
    vmin: float = 0.0,
) -> int:
    """Hover text and colour bar (from ``vmin`` to ``vmax`` in as many steps as ``colours``
    has classes after its first, the zero colour): transparent markers at the cell centres;
    returns its index."""
    import plotly.graph_objects as go

    dom = fig.layout[f"xaxis{'' if col == 1 else col}"].domain
    n = len(colours) - 1
    stepped = []
    for c in range(n):
        stepped += [[c / n, colours[c + 1]], [(c + 1) / n, colours[c + 1]]]
    fig.add_trace(
        go.Scatter(
            x=cells.lng.tolist(),
            y=cells.lat.tolist(),
            mode="markers",
            marker={
                "size": 14,
                "opacity": 0,
                "color": vals,
                "cmin": vmin,
                "cmax": vmax,
                "colorscale": stepped,
                "showscale": True,
                "colorbar": {"x": dom[1] + 0.005, "len": 0.8, "thickness": 10},
            },
            text=[f"{cells.labels[i]}<br>{title}: {vals[i]}" for i in range(len(cells.labels))],
            hoverinfo="text",
            showlegend=False,
            name=title,
        ),
        row=1,
        col=col,
    )
    return len(fig.data) - 1


def _map_panel(
    fig: Any,
    col: int,
    panel: _Panel,
    vals: dict[str, np.ndarray],
    hours: list[int],
    shown: tuple[str, int],
    cells: _MapCells,
) -> dict[str, Any]:
    """Draw one panel for the ``shown`` (policy, index into ``hours``); returns what the page's
    script needs to redraw it for another policy or hour."""
    import plotly.colors as pc

    vmax, classes, values = _classes(vals, hours)
    frac = (np.arange(MAP_CLASSES) + 0.5) / MAP_CLASSES
    colours = [_ZERO_COLOUR, *pc.sample_colorscale(panel.colour_scale, list(0.15 + 0.85 * frac))]
    policy, hi = shown
    traces = _class_traces(fig, col, panel.title, colours, classes[policy][hi], vmax, cells)
    hover = _hover_trace(fig, col, panel.title, colours, values[policy][hi], vmax, cells)
    return {"name": panel.title, "classes": classes, "values": values, "traces": traces,
            "hover": hover}  # fmt: skip


def _map_layout(fig: Any, cells: _MapCells, panels: int = len(_MAP_PANELS)) -> None:
    """Equal distances along both axes (at the city's latitude), no axes."""
    lat0 = float(np.mean(cells.lat)) if len(cells.labels) else 0.0
    ratio = 1 / max(math.cos(math.radians(lat0)), 0.1)
    for k in range(panels):
        sfx = "" if k == 0 else str(k + 1)
        fig.layout[f"yaxis{sfx}"].update(scaleanchor=f"x{sfx}", scaleratio=ratio, visible=False)
        fig.layout[f"xaxis{sfx}"].update(visible=False)
    fig.update_layout(
        template="plotly_white",
        height=720,
        margin={"t": 40, "b": 10, "l": 10, "r": 40},
        plot_bgcolor="white",
    )


def _map_controls(policies: list[str], start: str, hours: list[int], hour: int) -> str:
    """The policy menu and the hour slider."""
    options = "".join(
        f"<option value='{html.escape(p)}'{' selected' if p == start else ''}>"
        f"{html.escape(p)}</option>"
        for p in policies
    )
    return (
        "<div class='controls'>"
        f"<label>policy <select id='map-policy'>{options}</select></label>"
        f"<label>hour <input type='range' id='map-hour' min='0' max='{len(hours) - 1}' "
        f"step='1' value='{hours.index(hour)}'></label>"
        f"<span id='map-hour-label'>{hour:02d}:00–{hour + 1:02d}:00</span>"
        "</div>"
    )


def _map_section(
    by_policy: dict[str, list[RecordLike]],
    hour: int | None,
    baseline: str,
    shocks: list[dict[str, Any]] | None = None,
) -> tuple[str, int]:
    """The map with its controls and script, and the hour it shows first."""
    from plotly.subplots import make_subplots

    policies = list(by_policy)
    cells = _MapCells.of(by_policy[policies[0]][0])
    # mean per run of each policy: (24, C)
    vals = {
        panel.key: {
            p: np.mean([getattr(r, panel.attr) for r in recs], axis=0) * panel.scale
            for p, recs in by_policy.items()
        }
        for panel in _MAP_PANELS
    }
    hours, hour = _map_hours(vals, hour)
    start = baseline if baseline in by_policy else policies[0]
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=[p.title for p in _MAP_PANELS], horizontal_spacing=0.09
    )
    shown = (start, hours.index(hour))
    js_panels = [
        _map_panel(fig, k + 1, panel, vals[panel.key], hours, shown, cells)
        for k, panel in enumerate(_MAP_PANELS)
    ]
    _mark_shocks(fig, shocks or [])  # after the panels: the page's script redraws their traces
    _map_layout(fig, cells)
    data = {"div": "map", "labels": cells.labels, "gx": cells.gx, "gy": cells.gy,
            "hours": hours, "panels": js_panels}  # fmt: skip
    script = (
        "<script type='text/javascript'>\n"
        f"const MAP_DATA = {json_text(data, 'report map', separators=(',', ':'))};\n"
        f"{_MAP_JS}\n</script>"
    )
    return _map_controls(policies, start, hours, hour) + _fig_html(fig, "map") + script, hour


_MAP_JS = """
(function () {
  const M = MAP_DATA;
  const gd = document.getElementById(M.div);
  const sel = document.getElementById('map-policy');
  const rng = document.getElementById('map-hour');
  const lab = document.getElementById('map-hour-label');
  const pad = (h) => String(h).padStart(2, '0');
  function update() {
    const p = sel.value;
    const hi = Number(rng.value);
    const h = M.hours[hi];
    lab.textContent = pad(h) + ':00\u2013' + pad(h + 1) + ':00';
    gd.dataset.shown = p + '@' + h;
    const xs = [], ys = [], ids = [], texts = [], colours = [], hover = [];
    M.panels.forEach(function (panel) {
      const cls = panel.classes[p][hi];
      const vals = panel.values[p][hi];
      const bx = panel.traces.map(() => []);
      const by = panel.traces.map(() => []);
      cls.forEach(function (c, i) {
        for (const v of M.gx[i]) bx[c + 1].push(v);
        for (const v of M.gy[i]) by[c + 1].push(v);
      });
      panel.traces.forEach(function (t, j) { xs.push(bx[j]); ys.push(by[j]); ids.push(t); });
      texts.push(vals.map((v, i) => M.labels[i] + '<br>' + panel.name + ': ' + v));
      colours.push(vals);
      hover.push(panel.hover);
    });
    Plotly.restyle(gd, {x: xs, y: ys}, ids);
    Plotly.restyle(gd, {text: texts, 'marker.color': colours}, hover);
  }
  sel.addEventListener('change', update);
  rng.addEventListener('input', update);
  window.addEventListener('load', update);
})();
"""


# --- the online correction -----------------------------------------------------------------------

CORRECTION_CLASSES = 9
"""Colour classes of the correction map, symmetric around 0 (the middle one holds 0)."""


def _correction_choice(
    by_policy: dict[str, list[RecordLike]], cfg: CorrectionMapConfig
) -> tuple[str | None, np.ndarray | None, int]:
    """The policy mapped, its hour-end corrections (mean over its runs; None when it recorded
    none) and the hour shown."""
    have = [p for p, recs in by_policy.items() if any(r.correction is not None for r in recs)]
    policy = cfg.correction_policy if cfg.correction_policy is not None else next(iter(have), None)
    if policy is None or policy not in have:
        return policy, None, cfg.correction_hour or 0
    per_run = [
        hour_end_corrections(r.correction_t_s, r.correction)
        for r in by_policy[policy]
        if r.correction is not None and r.correction_t_s is not None
    ]
    with warnings.catch_warnings():  # an hour no run recorded stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(per_run, axis=0)
    size = np.nan_to_num(np.abs(mean)).max(axis=1)
    hour = cfg.correction_hour if cfg.correction_hour is not None else int(np.argmax(size))
    return policy, mean, hour


def _diverging(values: np.ndarray) -> tuple[float, list[int]]:
    """The scale's half-width (the 98th percentile of the absolute values) and each cell's
    class, 0 … CORRECTION_CLASSES − 1 with the middle one around 0."""
    a = np.abs(values[np.isfinite(values)])
    vmax = float(np.percentile(a, 98)) if a.size else 0.0
    vmax = vmax if vmax > 0 else 1.0
    n = CORRECTION_CLASSES
    x = np.nan_to_num(values)
    cls = np.clip(np.floor((x / vmax + 1.0) / 2.0 * n), 0, n - 1).astype(int)
    return vmax, cls.tolist()


def _correction_figure(
    cells: _MapCells, corr: np.ndarray, orders: np.ndarray, shocks: list[dict[str, Any]]
) -> Any:
    """Two panels: the correction on a diverging scale centred at 0, and the orders."""
    import plotly.colors as pc
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["Online correction V_on − V_off", "Orders"],
        horizontal_spacing=0.09,
    )
    n = CORRECTION_CLASSES
    vmax, cls = _diverging(corr)
    # the zero colour is unused: every cell has a class on this scale
    div = [_ZERO_COLOUR, *pc.sample_colorscale("RdBu_r", list((np.arange(n) + 0.5) / n))]
    shifted = [c - 1 for c in cls]  # _class_traces puts class c − 1 in colour c
    _class_traces(fig, 1, "correction", div[1:], shifted, vmax, cells)
    vals = np.round(np.nan_to_num(corr), 3).tolist()
    _hover_trace(fig, 1, "correction", div, vals, vmax, cells, vmin=-vmax)
    omax, ocls, ovals = _classes({"p": orders[None, :]}, [0])
    frac = (np.arange(MAP_CLASSES) + 0.5) / MAP_CLASSES
    seq = [_ZERO_COLOUR, *pc.sample_colorscale("YlOrRd", list(0.15 + 0.85 * frac))]
    _class_traces(fig, 2, "orders", seq, ocls["p"][0], omax, cells)
    _hover_trace(fig, 2, "orders", seq, ovals["p"][0], omax, cells)
    _mark_shocks(fig, shocks, panels=2)
    _map_layout(fig, cells, panels=2)
    return fig


def _correction_section(by_policy: dict[str, list[RecordLike]], cfg: CorrectionMapConfig) -> str:
    """The correction map beside the orders, for the chosen policy and hour ("" when no run
    recorded a correction and none was asked for)."""
    policy, mean, hour = _correction_choice(by_policy, cfg)
    if policy is None:
        return ""
    head = "<h2>Online correction and orders</h2>"
    if mean is None:
        return head + (
            f"<p class='note' id='correction-none'>{html.escape(policy)} recorded no online "
            "correction (only a dispatch policy with an online value over an offline one does, "
            "such as v1d3).</p>"
        )
    recs = by_policy[policy]
    orders = np.mean([r.cell_orders[hour] for r in recs], axis=0)
    fig = _correction_figure(_MapCells.of(recs[0]), mean[hour], orders, _study_shocks(recs))
    note = (
        f"<p class='note' id='correction-note'><b>{html.escape(policy)}</b>, "
        f"{hour:02d}:00–{hour + 1:02d}:00: left, what the day's online learning added to the "
        f"offline value of each cell (V_on − V_off at the cell's centre) at {hour + 1:02d}:00, "
        "just before that hour's ensemble step when it falls there, red above and blue below "
        "the offline value; right, the hour's orders by origin cell. Means over the policy's "
        f"{len(recs)} run(s); shocks are starred. Recorded every 15 minutes and before each "
        "ensemble step (corrections.parquet of a v1d3 simulate run); choose with "
        "--correction-policy and --correction-hour.</p>"
    )
    return head + note + _fig_html(fig, "correction-map")


# --- page --------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 20px 24px;
       color: #222; max-width: 1500px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; }
table.comparison { border-collapse: collapse; font-size: 0.78em; }
table.comparison th, table.comparison td { border: 1px solid #ddd; padding: 4px 5px;
       text-align: right; vertical-align: top; }
table.comparison thead th { background: #f4f4f4; text-align: center; }
table.comparison tbody th { text-align: left; white-space: nowrap; }
td.best { background: #e8f5e9; font-weight: 600; }
.ci { color: #777; font-weight: normal; }
.diff { color: #666; font-size: 0.9em; font-weight: normal; }
.diff.better { color: #1b5e20; font-weight: 600; }
.diff.worse { color: #b71c1c; font-weight: 600; }
.diff.differs { color: #333; font-weight: 600; }
table.comparison td { white-space: nowrap; }
.scroll { overflow-x: auto; }
.controls { display: flex; gap: 24px; align-items: center; margin: 8px 0; }
pre { background: #f7f7f7; padding: 10px; overflow-x: auto; font-size: 0.85em; }
pre#command { white-space: pre-wrap; word-break: break-all; }
table.failures td, table.failures th { border: 1px solid #ddd; padding: 4px 8px; }
table.failures { border-collapse: collapse; font-size: 0.88em; }
.note { color: #555; font-size: 0.9em; }
"""


def render_report(
    evaluation: EvaluationLike,
    hour: int | None = None,
    command: str | None = None,
    correction: CorrectionMapConfig | None = None,
) -> str:
    """The report page as a string (``correction``: which online correction it maps)."""
    import plotly.offline

    ev = evaluation
    study = ev.study
    by_policy: dict[str, list[RecordLike]] = {}
    for rec in ev.records:
        by_policy.setdefault(rec.policy, []).append(rec)
    by_policy = {p: by_policy[p] for p in study.policies if p in by_policy}
    colours = dict(zip(study.policies, _colours(len(study.policies)), strict=True))
    correction = correction or CorrectionMapConfig()
    command = command or ev.regenerate_command(hour, correction)
    n_runs = len(ev.results)
    sc = study.scenario
    horizon = f"{sc.start_hour:g}h + {sc.hours:g}h"
    parts = [
        "<h1>V1D3 evaluation</h1>",
        f"<p class='meta'>scenario <b>{html.escape(sc.name)}</b> ({horizon}) · weekdays "
        f"{', '.join(map(str, study.weekdays))} · seeds {', '.join(map(str, study.seeds))} · "
        f"{len(study.policies)} policies · {n_runs} runs ({len(ev.failures)} failed) · "
        f"baseline <b>{html.escape(study.baseline)}</b> · v1d3 {__version__}</p>",
        "<h2>Comparison</h2>",
        _table_html(ev.summary, study.policies, study.baseline),
        "<p class='note'>Mean over the (weekday, seed) runs ± the half-width of its 95% "
        "Student-t interval. Δ: relative difference to the baseline, paired by (weekday, seed) "
        "on identical demand (common random numbers), ± the half-width of its 95% interval "
        "(delta method), in green when the interval excludes 0 and the policy is better, in red "
        "when it is worse. ★ marks the best policy per column. No interval with a single run.</p>",
    ]
    if by_policy:
        shocks = _study_shocks(ev.records)
        map_html, _ = _map_section(by_policy, hour, study.baseline, shocks)
        parts += [
            _shocks_html(shocks),
            "<h2>By hour of day</h2>",
            _fig_html(_hourly_figure(by_policy, colours, shocks), "hourly"),
            "<h2>Map: orders, unserved orders and idle drivers by cell</h2>",
            "<p class='note'>Mean per run of the chosen policy during the chosen hour. Idle "
            "drivers: idle driver-minutes in the cell divided by 60 (gaps between a driver's "
            "consecutive events).</p>",
            map_html,
            _correction_section(by_policy, correction),
            "<h2>Distributions</h2>",
            _fig_html(_distribution_figure(by_policy, colours), "distributions"),
        ]
    else:
        parts.append("<p>No run finished; there is nothing to plot.</p>")
    if ev.failures:
        rows = "".join(
            f"<tr><td>{html.escape(f['policy'])}</td><td>{f['weekday']}</td><td>{f['seed']}</td>"
            f"<td>{f['attempts']}</td><td>{html.escape(str(f['error']))}</td></tr>"
            for f in ev.failures
        )
        parts += [
            "<h2>Failed runs</h2>",
            "<table class='failures' id='failures'><tr><th>policy</th><th>weekday</th>"
            f"<th>seed</th><th>attempts</th><th>error</th></tr>{rows}</table>",
        ]
    config = re.sub(
        r"\[\s+([^\[\]{}]*?)\s+\]",
        lambda m: "[" + " ".join(m.group(1).split()) + "]",
        json_text(study.to_dict(), "report configuration", indent=2),
    )
    parts += [
        "<h2>Configuration</h2>",
        f"<pre id='config'>{html.escape(config)}</pre>",
        _constants_html(by_policy),
        "<p>Regenerate this report (finished runs are reused):</p>",
        f"<pre id='command'>{html.escape(command)}</pre>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>V1D3 evaluation</title>"
        f"<style>{_CSS}</style>"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>"
        "</head><body>" + "\n".join(parts) + "</body></html>\n"
    )


def _constants_html(by_policy: dict[str, list[RecordLike]]) -> str:
    """Each policy's resolved constants (from its first run), one collapsible block each."""
    blocks = []
    for policy, recs in by_policy.items():
        if not recs[0].policies:
            continue  # a record written before the constants were saved
        text = json_text(recs[0].policies, "report policies", indent=2)
        blocks.append(
            f"<details><summary>{html.escape(policy)}</summary>"
            f"<pre>{html.escape(text)}</pre></details>"
        )
    if not blocks:
        return ""
    return (
        "<div id='policy-constants'><p>The constants each policy resolved to, defaults "
        "included (also in each run's <code>record.json</code>):</p>" + "".join(blocks) + "</div>"
    )


def write_report(
    evaluation: EvaluationLike,
    path: Path,
    hour: int | None = None,
    command: str | None = None,
    correction: CorrectionMapConfig | None = None,
) -> Path:
    """Write ``report.html`` (atomically)."""
    atomic_write_text(Path(path), render_report(evaluation, hour, command, correction))
    return Path(path)
