"""Gait figures (matplotlib, Agg, PNG written atomically) and the outcomes CSV.

- :func:`curves_plot`: the time-normalised angle curve per joint, mean ± SD band over the
  cycles of each side, with the mean toe off (end of stance) marked — the figure gait labs use.
- :func:`events_plot`: heel and toe positions relative to the pelvis (leg lengths, along
  the walking direction) over time with the heel strikes and toe offs found, cycles shaded.
- :func:`bland_altman_plot`: difference (test − reference) against the mean per paired
  cycle, bias and 95 % limits of agreement per method, one panel per outcome.
- :func:`write_outcomes_csv`: ``outcomes.csv``, one row per person × cycle × outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anonymotion.report.plots import _COLORS, _figure, _save

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.kinematics.gait_events import GaitEvents
    from anonymotion.kinematics.gait_outcomes import GaitOutcomes, PersonOutcomes

SIDE_COLORS = {"left": "#d95f02", "right": "#1f78b4"}
OUTCOME_COLUMNS = ("video", "person", "side", "cycle", "start_s", "end_s", "outcome", "value", "unit")
#: Outcomes shown in the Bland–Altman figure (the table lists every outcome).
BA_OUTCOMES = ("cadence", "stride_time", "step_time", "stance", "hip_rom", "knee_rom", "ankle_rom", "elbow_rom")


def write_outcomes_csv(path: Path, results: Sequence["GaitOutcomes"]) -> Path:
    """outcomes.csv for one or more videos (columns :data:`OUTCOME_COLUMNS`)."""
    from anonymotion.report.tables import write_csv

    rows = ([r[c] for c in OUTCOME_COLUMNS] for res in results for r in res.to_rows())
    return write_csv(Path(path), OUTCOME_COLUMNS, rows, digits=4)


def curves_plot(path: Path, person: "PersonOutcomes", title: str = "") -> Path:
    """One panel per joint: mean ± SD (shaded) of the 0–100 % curve per side; n cycles in the legend."""
    from anonymotion.kinematics.gait_outcomes import CURVE_POINTS, JOINTS

    plt, fig, axes = _figure(1, len(JOINTS), 3.6 * len(JOINTS), 3.2)
    x = np.linspace(0, 100, CURVE_POINTS)
    for j, joint in enumerate(JOINTS):
        ax = axes[0][j]
        for side, color in SIDE_COLORS.items():
            mean, sd, n = person.mean_curve(joint, side)
            if n == 0:
                continue
            ax.plot(x, mean, color=color, lw=1.4, label=f"{side} (n={n})")
            ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
            stance = [c.values["stance"] for c in person.cycles if c.side == side]
            ax.axvline(float(np.nanmean(stance)), color=color, ls=":", lw=0.9)
        ax.set_title(joint, fontsize=9)
        ax.set_xlabel("% gait cycle", fontsize=8)
        ax.set_ylabel("degrees", fontsize=8)
        ax.set_xlim(0, 100)
        ax.tick_params(labelsize=7)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    fig.suptitle(title or f"person {person.person}: joint angles over the gait cycle (mean ± SD; dotted: toe off)",
                 fontsize=10)
    return _save(plt, fig, path)


def events_plot(path: Path, events: "GaitEvents", title: str = "") -> Path:
    """Heel/toe signals per foot with heel strikes (▼) and toe offs (▲); cycles shaded."""
    plt, fig, axes = _figure(2, 1, 10.0, 4.8)
    t = events.t
    for k, side in enumerate(("left", "right")):
        ax = axes[k][0]
        color = SIDE_COLORS[side]
        heel, toe = events.signals.get(f"{side}_heel"), events.signals.get(f"{side}_toe")
        if heel is not None:
            ax.plot(t, heel, color=color, lw=1.2, label="heel")
            hs = events.heel_strikes[side]
            ax.plot(t[hs], heel[hs], "v", color="black", ms=6, label="heel strike")
        if toe is not None:
            ax.plot(t, toe, color=color, lw=1.0, ls="--", label="toe")
            to = events.toe_offs[side]
            ax.plot(t[to], toe[to], "^", color="black", ms=6, label="toe off")
        for c in events.cycles:
            if c.side == side:
                ax.axvspan(c.start_s, c.end_s, color=color, alpha=0.08)
        ax.axhline(0, color="#999", lw=0.6)
        ax.set_ylabel(f"{side}: ahead of pelvis\n(leg lengths)", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, loc="upper right", ncol=4)
    axes[1][0].set_xlabel("time (s)", fontsize=8)
    note = events.note or f"{len(events.cycles)} cycles; walking direction from the {events.direction_source}"
    fig.suptitle(f"{title}: {note}" if title else note, fontsize=9)
    return _save(plt, fig, path)


def bland_altman_plot(path: Path, by_method: dict[str, Sequence[dict]], outcomes: Sequence[str] = BA_OUTCOMES,
                      title: str = "") -> Path:
    """Bland–Altman panels, one per outcome: per method the paired cycles (mean, difference
    test − original), bias (solid) and 95 % limits of agreement (dashed); the outcome's limit
    as a grey band. by_method: label -> agreement rows (keys outcome, unit, limit, n_pairs,
    ref, test, bias, sd, loa_low, loa_high; see ``evaluation.outcomes.gait_agreement_rows``)."""
    n = len(outcomes)
    cols = 4 if n > 4 else n
    rows = max(1, -(-n // cols))
    plt, fig, axes = _figure(rows, cols, 3.4 * cols, 2.8 * rows)
    for j in range(rows * cols):
        ax = axes[j // cols][j % cols]
        if j >= n:
            ax.axis("off")
            continue
        name = outcomes[j]
        unit, limit = "", None
        for c, (method, agreements) in enumerate(by_method.items()):
            a = next((x for x in agreements if x["outcome"] == name), None)
            if a is None or not a.get("n_pairs"):
                continue
            unit, limit = a["unit"], a["limit"]
            ref, test = np.asarray(a["ref"], float), np.asarray(a["test"], float)
            color = _COLORS[(c + 1) % len(_COLORS)]
            ax.plot((ref + test) / 2, test - ref, "o", ms=3.5, color=color, label=f"{method} (n={a['n_pairs']})")
            ax.axhline(a["bias"], color=color, lw=1.0)
            if a.get("sd") is not None and np.isfinite(a["sd"]):
                for v in (a["loa_low"], a["loa_high"]):
                    ax.axhline(v, color=color, lw=0.8, ls="--")
        if limit is not None:
            ax.axhspan(-limit, limit, color="#888", alpha=0.12, lw=0)
            ax.legend(fontsize=6, loc="best")
        else:
            ax.text(0.5, 0.5, "no paired cycles", ha="center", va="center", fontsize=8, transform=ax.transAxes)
        ax.set_title(name.replace("_", " ") + (f" ({unit})" if unit else ""), fontsize=9)
        ax.set_xlabel("mean of original and test", fontsize=7)
        ax.set_ylabel("test − original", fontsize=7)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(plt, fig, path)
