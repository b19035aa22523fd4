"""``report.html`` of an evaluation: one self-contained file (inline CSS, PNGs as data URIs)
that opens offline, with the tables and plots and the limits they are judged against."""

from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from anonymotion.metrics.angles import ACCEPT_DEG, SD_LIMIT_DEG
from anonymotion.report.tables import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.evaluation import EvaluationResult

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1.05em}table{border-collapse:collapse;font-size:.82em;margin:.6em 0}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}tr.control td{background:#f7f7ff}
.ok{color:#17803d;font-weight:600}.sd{color:#b26b00;font-weight:600}.fail{color:#c0172b;font-weight:600}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}p.note{color:#555;font-size:.9em}
"""


def _cell(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.{digits}f}"
    return html.escape(str(v))


def _table(rows: list[dict], columns: list[tuple[str, str]], row_class=None, digits: int = 2) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for r in rows:
        cls = f' class="{row_class(r)}"' if row_class and row_class(r) else ""
        tds = []
        for key, _ in columns:
            v = r.get(key)
            if key == "verdict":
                tds.append(f'<td class="{html.escape(str(v))}">{html.escape(str(v))}</td>')
            else:
                tds.append(f"<td>{_cell(v, digits)}</td>")
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>' \
           f"{html.escape(alt)}</figcaption></figure>"


def render(result: "EvaluationResult", plots: dict[str, list[tuple[str, Path]]]) -> str:
    """The report as an HTML string."""
    labels = result.methods
    t = result.tables
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>anonymotion evaluation</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>Anonymization impact on pose and joint angles</h1>",
        f"<p>Videos: {', '.join(html.escape(Path(v).name) for v in result.videos)}. "
        f"Methods: {', '.join(html.escape(m) for m in labels)}. Generated "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.</p>",
        "<p class='note'>Reference: MediaPipe pose on the original video. <b>reencode</b> is the control: the "
        "original re-encoded with the same encoder settings and no anonymization; a visually lossless re-encode "
        "alone already moves the pose, so each method is judged by its <i>excess</i> over the control. "
        f"Verdict: <span class='ok'>ok</span> = excess RMSE ≤ {ACCEPT_DEG:g}° and SD change ≤ "
        f"{SD_LIMIT_DEG:g}°; <span class='sd'>sd</span> = SD change above {SD_LIMIT_DEG:g}°; "
        f"<span class='fail'>fail</span> = excess RMSE above {ACCEPT_DEG:g}°. EPE in pixels over keypoints "
        "with score ≥ threshold in both videos; PTK = keypoints detected in the output / in the original; "
        "PCK@α = share within α × torso length.</p>",
    ]
    if "mpjpe" in t:  # the multi-view study: 3D tables per person instead of 2D tables per video
        from anonymotion.report import multiview

        parts[-1] = multiview.intro(result)
        parts += multiview.sections(result, plots)
        parts.append("</body></html>")
        return "\n".join(parts)
    ctl = lambda r: "control" if r.get("method") == "reencode" else ""  # noqa: E731
    for video in result.videos:
        name = html.escape(Path(video).name)
        parts.append(f"<h2>{name}</h2>")
        parts.append("<h3>Overall</h3>")
        parts.append(_table([r for r in t["overall"] if r["video"] == video], [
            ("method", "method"), ("epe_px", "EPE px"), ("epe_norm", "EPE / torso"), ("ptk_pct", "PTK %"),
            ("pck_005", "PCK@0.05 %"), ("pck_01", "PCK@0.1 %"), ("detection_rate_test", "detection rate"),
            ("confidence_test", "mean confidence"), ("confidence_change_pct", "conf. change %"),
            ("angle_rmse_mean", "mean angle RMSE °"), ("mpjpe_mm", "MPJPE mm")], row_class=ctl, digits=3))
        parts.append("<h3>Verdict per joint angle (against the reencode control)</h3>")
        parts.append(_table([r for r in t["verdicts"] if r["video"] == video], [
            ("angle", "angle"), ("method", "method"), ("rmse", "RMSE °"), ("control_rmse", "control RMSE °"),
            ("excess_rmse", "excess °"), ("sd", "SD °"), ("control_sd", "control SD °"),
            ("sd_change", "|ΔSD| °"), ("within_5deg_pct", "within 5° %"), ("verdict", "verdict")]))
        parts.append(_gait_section(result, video))
        cols = [("angle", "angle")]
        for lab in labels:
            cols += [(f"{lab}_rmse", f"{lab} RMSE °"), (f"{lab}_sd", f"{lab} SD °")]
        cols += [("delta_rmse", "Δ RMSE"), ("delta_sd", "Δ SD")]
        parts.append("<h3>Joint-angle RMSE and SD of the difference (2D, degrees)</h3>")
        parts.append(_table([r for r in t["angles"] if r["video"] == video], cols))
        rows3 = [r for r in t.get("angles_3d", []) if r["video"] == video]
        if rows3:
            cols3 = [("angle", "angle")]
            for lab in labels:
                cols3 += [(f"{lab}_rmse", f"{lab} RMSE °"), (f"{lab}_sd", f"{lab} SD °")]
            cols3 += [("delta_rmse", "Δ RMSE"), ("delta_sd", "Δ SD")]
            parts.append("<h3>3D joint angles from world landmarks (RMSE and SD of the difference, degrees)</h3>")
            parts.append(_table(rows3, cols3))
        cols = [("keypoint", "keypoint")]
        for lab in labels:
            cols += [(lab, f"{lab} EPE px"), (f"{lab}_2sd", f"{lab} 2σ")]
        cols.append(("delta", "Δ"))
        parts.append("<h3>Keypoint EPE (px, mean and 2σ)</h3>")
        parts.append(_table([r for r in t["keypoints"] if r["video"] == video], cols, digits=1))
        for title, path in plots.get(video, []):
            parts.append(_img(path, title))
        parts.append("<h3>Paired Wilcoxon signed-rank tests of per-frame |angle error|</h3>")
        parts.append(_table([r for r in t["wilcoxon"] if r["video"] == video], [
            ("angle", "angle"), ("a", "method a"), ("b", "method b"), ("n", "frames"),
            ("median_diff", "median diff (b − a) °"), ("statistic", "W"), ("p", "p"), ("note", "note")], digits=4))
    if t.get("anova"):
        parts.append("<h2>Across videos: repeated-measures ANOVA and Friedman test of angle RMSE</h2>")
        parts.append(_table(t["anova"], [
            ("angle", "angle"), ("videos", "videos"), ("anova_F", "F"), ("anova_p", "p (ANOVA)"),
            ("anova_note", "note"), ("friedman_chi2", "χ²"), ("friedman_p", "p (Friedman)"),
            ("friedman_note", "note")], digits=4))
    parts.append("</body></html>")
    return "\n".join(parts)


def _gait_section(result: "EvaluationResult", video: str) -> str:
    """Clinical gait outcomes: agreement per outcome and method, or why there is none."""
    from anonymotion.evaluation.judge import GAIT_RULE

    by_label = result.results.get(video, {})
    first = next(iter(by_label.values()), None)
    g = first.gait if first is not None else {}
    head = "<h3>Clinical gait outcomes per cycle: agreement with the original</h3>"
    if not g.get("cycles_ref"):
        note = g.get("note_ref") or "no gait cycles"
        return head + f"<p class='note'>No gait cycle was found in the original ({html.escape(note)}), so cadence, " \
                      "step and stride times, stance and range of motion are not judged.</p>"
    order = [d.name for _, d in _gait_limits(all_outcomes=True)]
    rows = sorted((r for r in result.tables.get("gait", []) if r["video"] == video),
                  key=lambda r: (order.index(r["outcome"]) if r["outcome"] in order else len(order),
                                 result.methods.index(r["method"]) if r["method"] in result.methods else 99))
    for r in rows:
        r["icc_ci"] = "–" if r.get("icc_low") is None or not math.isfinite(r["icc_low"]) else \
            f"{r['icc_low']:.2f}–{r['icc_high']:.2f}"
    limits = ", ".join(f"{label} {d.limit:g} {d.unit}" for label, d in _gait_limits())
    return head + f"<p class='note'>{g['cycles_ref']} cycles in the original (2D, image plane; heel strike and " \
        "toe off by the Zeni et al. 2008 method), paired with each video's cycles by time. Bland–Altman bias and " \
        "95 % limits of agreement (bias ± 1.96 SD of method − original); ICC(3,1) with its 95 % CI (F " \
        f"distribution; needs at least 2 paired cycles). Verdict: {html.escape(GAIT_RULE)}. Limits: " \
        f"{html.escape(limits)}; time limits are at least one frame.</p>" + _table(rows, [
            ("outcome", "outcome"), ("method", "method"), ("unit", "unit"), ("n_reference", "cycles (original)"),
            ("n_pairs", "paired"), ("lost", "lost"), ("bias", "bias"), ("loa_low", "LoA low"),
            ("loa_high", "LoA high"), ("icc", "ICC(3,1)"), ("icc_ci", "95 % CI"), ("limit", "limit"),
            ("verdict", "verdict")], row_class=lambda r: "control" if r.get("method") == "reencode" else "", digits=3)


def _gait_limits(all_outcomes: bool = False) -> list[tuple[str, object]]:
    """(label, OutcomeDef) once per kind of limit: every joint's ROM, peak and peak time share
    theirs (every outcome, in table order, with ``all_outcomes``)."""
    from anonymotion.kinematics.gait_outcomes import JOINTS, OUTCOMES

    if all_outcomes:
        return [(d.name, d) for d in OUTCOMES]
    seen, out = set(), []
    for d in OUTCOMES:
        joint = d.name.split("_", 1)[0]
        key = d.name.split("_", 1)[1] if joint in JOINTS else d.name
        if key not in seen:
            seen.add(key)
            out.append(("ROM" if key == "rom" else key.replace("_", " "), d))
    return out


def write_report(path: Path, result: "EvaluationResult", plots: dict[str, list[tuple[str, Path]]]) -> Path:
    """Write report.html atomically."""
    text = render(result, plots)
    return write_atomic(Path(path), lambda fh: fh.write(text))
