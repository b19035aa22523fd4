"""The dataset report of a batch run: ``report.html`` and CSV tables in OUTPUT_DIR.

Built from the batch manifest, so a resumed run reports every input, not only the last
run's. Per video and method: EPE (px), PTK (%), mean angle RMSE, audit leak rate. Over the
dataset (scope ``ALL``), pooled over all matched frames of all videos:

- per keypoint: EPE mean μ and 2σ (pooled from each video's n, mean and SD), PTK (mean
  over videos);
- per 2D angle: RMSE (pooled from n and RMSE), bias and SD of the per-frame difference
  (pooled), share within 5°;
- audit: leaked face-frames / judged face-frames (those with identifiable detail);
- with several methods (the ``reencode`` control counts as one): Δ = max − min over the
  methods (control excluded) of angle RMSE and SD and keypoint EPE, and per angle the
  repeated-measures ANOVA and the Friedman test of per-video RMSE across methods, videos
  as the units (:mod:`anonymotion.metrics.stats`).

- gait outcomes: cycles paired by time pooled over videos, Bland–Altman and ICC(3,1) per
  outcome and method, judged against the control (:mod:`anonymotion.batch.gait`).

Files: report.csv (video × method), report_keypoints.csv, report_angles.csv,
report_stats.csv, report_gait.csv (when any video has gait cycles), report.html.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from anonymotion.batch.state import DONE, BatchManifest, Entry, state_label
from anonymotion.io.writer import write_text_atomic

log = logging.getLogger(__name__)

from anonymotion.methods.registry import CONTROL  # noqa: E402  (defined once)
VIDEO_COLUMNS = ("video", "method", "status", "frames", "regions", "epe_px", "epe_norm", "ptk_pct", "pck_01",
                 "angle_rmse_mean", "mpjpe_mm", "person_frames_ref", "person_frames_lost", "person_frames_extra",
                 "audit_verdict", "leaks", "face_frames", "leak_rate", "seconds",
                 "error", "damaged_frames", "review")
KEYPOINT_COLUMNS = ("scope", "method", "keypoint", "n", "epe_mean_px", "epe_2sd_px", "ptk_pct")
ANGLE_COLUMNS = ("scope", "method", "angle", "n", "rmse", "sd", "bias", "within_5deg_pct", "excess_rmse",
                 "sd_change", "verdict")
STATS_COLUMNS = ("measure", "name", "methods", "videos", "delta_rmse", "delta_sd", "anova_F", "anova_p",
                 "friedman_chi2", "friedman_p", "note")


# ----------------------------------------------------------------------------- pooling (pure)

def pool_mean_sd(n: Sequence[float], mean: Sequence[float], sd: Sequence[float]) -> tuple[int, float, float]:
    """Pool groups given their sizes, means and SDs (ddof 1) into (N, mean, SD) of all values.

    Groups with n = 0 or a missing mean are ignored; a group of one value has SD 0.
    """
    rows = [(int(a), float(b), float(c) if c is not None and math.isfinite(c) else 0.0)
            for a, b, c in zip(n, mean, sd) if a and b is not None and math.isfinite(b)]
    total = sum(r[0] for r in rows)
    if total == 0:
        return 0, float("nan"), float("nan")
    mu = sum(k * m for k, m, _ in rows) / total
    if total < 2:
        return total, mu, 0.0
    ss = sum((k - 1) * s * s + k * (m - mu) ** 2 for k, m, s in rows)
    return total, mu, math.sqrt(ss / (total - 1))


def pool_rmse(n: Sequence[float], rmse: Sequence[float]) -> tuple[int, float]:
    """(N, RMSE over all values) from each group's size and RMSE."""
    rows = [(int(a), float(b)) for a, b in zip(n, rmse) if a and b is not None and math.isfinite(b)]
    total = sum(k for k, _ in rows)
    if total == 0:
        return 0, float("nan")
    return total, math.sqrt(sum(k * r * r for k, r in rows) / total)


def _f(v: Any) -> float:
    return float(v) if v is not None and isinstance(v, (int, float)) and math.isfinite(v) else float("nan")


def _mean(values: Iterable[Any]) -> float:
    v = [x for x in map(_f, values) if math.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def _delta(values: Iterable[float]) -> float:
    v = [x for x in values if math.isfinite(x)]
    return max(v) - min(v) if v else float("nan")


# ----------------------------------------------------------------------------- tables

def method_labels(entries: list[Entry], methods: list[str]) -> list[str]:
    """Labels in report order: the control first when it was evaluated, then the methods."""
    seen = {m for e in entries for m in e.evaluation}
    labels = [CONTROL] if CONTROL in seen and CONTROL not in methods else []
    return labels + list(methods)


def video_rows(entries: list[Entry], labels: list[str]) -> list[dict]:
    """One row per input and method (one row per input when it failed)."""
    rows = []
    for e in entries:
        if e.status not in DONE:
            rows.append({"video": e.key, "method": "", "status": e.status, "damaged_frames": e.damaged_frames,
                         "seconds": e.seconds, "error": e.error})
            continue
        for m in labels:
            if m not in e.outputs and m not in e.evaluation:
                continue
            ov = (e.evaluation.get(m) or {}).get("overall", {})
            au = e.audit.get(m) or {}
            rows.append({"video": e.key, "method": m, "status": e.status, "damaged_frames": e.damaged_frames,
                         "frames": e.frames, "regions": e.faces,
                         **{k: ov.get(k) for k in ("epe_px", "epe_norm", "ptk_pct", "pck_01", "angle_rmse_mean",
                                                   "mpjpe_mm", "person_frames_ref", "person_frames_lost",
                                                   "person_frames_extra")},
                         "audit_verdict": au.get("verdict"), "leaks": au.get("leaks"),
                         "face_frames": au.get("face_frames"), "leak_rate": au.get("leak_rate"),
                         "seconds": e.seconds, "error": (e.extra or {}).get("evaluation_error"),
                         "review": "; ".join(e.review)})
    return rows


def keypoint_rows(entries: list[Entry], labels: list[str]) -> list[dict]:
    """Per video and pooled (scope ALL): EPE μ and 2σ and PTK per keypoint and method."""
    rows: list[dict] = []
    for m in labels:
        per_kp: dict[str, list[dict]] = {}
        for e in entries:
            ev = e.evaluation.get(m) if e.status == "done" else None
            if not ev:
                continue
            for r in ev["keypoints"]:
                per_kp.setdefault(r["keypoint"], []).append(r)
                rows.append({"scope": e.key, "method": m, "keypoint": r["keypoint"], "n": r["n"],
                             "epe_mean_px": r["epe_px"], "epe_2sd_px": 2 * _f(r["epe_sd_px"]), "ptk_pct": r["ptk_pct"]})
        for kp, rs in per_kp.items():
            n, mu, sd = pool_mean_sd([r["n"] for r in rs], [r["epe_px"] for r in rs], [r["epe_sd_px"] for r in rs])
            rows.append({"scope": "ALL", "method": m, "keypoint": kp, "n": n, "epe_mean_px": mu, "epe_2sd_px": 2 * sd,
                         "ptk_pct": _mean(r["ptk_pct"] for r in rs)})
    return rows


def angle_rows(entries: list[Entry], labels: list[str]) -> list[dict]:
    """Per video and pooled (scope ALL): RMSE, SD, bias, share within 5° per angle and method."""
    rows: list[dict] = []
    for m in labels:
        per_angle: dict[str, list[dict]] = {}
        for e in entries:
            ev = e.evaluation.get(m) if e.status == "done" else None
            if not ev:
                continue
            for r in ev["angles"]:
                per_angle.setdefault(r["angle"], []).append(r)
                rows.append({"scope": e.key, "method": m, **{k: r.get(k) for k in ANGLE_COLUMNS[2:8]}})
        for name, rs in per_angle.items():
            ns = [r["n"] for r in rs]
            n, rmse = pool_rmse(ns, [r["rmse"] for r in rs])
            _, bias, sd = pool_mean_sd(ns, [r["bias"] for r in rs], [r["sd"] for r in rs])
            within = [(k, _f(r["within_5deg_pct"])) for k, r in zip(ns, rs) if k]
            w = sum(k * p for k, p in within if math.isfinite(p)) / n if n else float("nan")
            rows.append({"scope": "ALL", "method": m, "angle": name, "n": n, "rmse": rmse, "sd": sd, "bias": bias,
                         "within_5deg_pct": w})
    _judge(rows)
    return rows


def _judge(rows: list[dict]) -> None:
    """Pooled rows of each method get the one judge's verdict against the re-encode control's
    pooled row (:func:`anonymotion.evaluation.judge.judge_angle`)."""
    from anonymotion.evaluation.judge import judge_angle

    control = {r["angle"]: r for r in rows if r["scope"] == "ALL" and r["method"] == CONTROL}
    if not control:
        return
    for r in rows:
        c = control.get(r["angle"])
        if r["scope"] != "ALL" or r["method"] == CONTROL or c is None:
            continue
        j = judge_angle({"rmse": _f(r["rmse"]), "sd": _f(r["sd"]), "n": r.get("n")},
                        {"rmse": _f(c["rmse"]), "sd": _f(c["sd"]), "n": c.get("n")})
        r["excess_rmse"], r["sd_change"], r["verdict"] = j["excess_rmse"], j["sd_change"], j["verdict"]


def stats_rows(entries: list[Entry], labels: list[str], angles: list[dict], keypoints: list[dict]) -> list[dict]:
    """Δ across methods (control excluded) and RM-ANOVA / Friedman across methods, videos as units."""
    from anonymotion.metrics.stats import friedman, rm_anova

    methods = [m for m in labels if m != CONTROL]
    done = [e for e in entries if e.status == "done" and all(m in e.evaluation for m in labels)]
    rows: list[dict] = []
    pooled = {(r["method"], r["angle"]): r for r in angles if r["scope"] == "ALL"}
    names = list(dict.fromkeys(r["angle"] for r in angles if r["scope"] == "ALL"))
    for name in names:
        values = np.array([[_f(next((r["rmse"] for r in e.evaluation[m]["angles"] if r["angle"] == name), None))
                            for m in labels] for e in done]) if done else np.zeros((0, len(labels)))
        a, fr = rm_anova(values), friedman(values)
        rows.append({"measure": "angle_rmse", "name": name, "methods": ",".join(labels), "videos": len(done),
                     "delta_rmse": _delta(_f(pooled.get((m, name), {}).get("rmse")) for m in methods),
                     "delta_sd": _delta(_f(pooled.get((m, name), {}).get("sd")) for m in methods),
                     "anova_F": a["F"], "anova_p": a["p"], "friedman_chi2": fr["statistic"], "friedman_p": fr["p"],
                     "note": "; ".join(x for x in (a["note"], fr["note"]) if x)})
    kp_pooled = {(r["method"], r["keypoint"]): r for r in keypoints if r["scope"] == "ALL"}
    for kp in dict.fromkeys(r["keypoint"] for r in keypoints if r["scope"] == "ALL"):
        rows.append({"measure": "keypoint_epe", "name": kp, "methods": ",".join(methods), "videos": len(done),
                     "delta_rmse": _delta(_f(kp_pooled.get((m, kp), {}).get("epe_mean_px")) for m in methods)})
    if done:
        values = np.array([[_f(e.evaluation[m]["overall"].get("epe_px")) for m in labels] for e in done])
        a, fr = rm_anova(values), friedman(values)
        rows.append({"measure": "epe_px", "name": "all keypoints", "methods": ",".join(labels), "videos": len(done),
                     "anova_F": a["F"], "anova_p": a["p"], "friedman_chi2": fr["statistic"], "friedman_p": fr["p"],
                     "note": "; ".join(x for x in (a["note"], fr["note"]) if x)})
    return rows


def audit_rows(entries: list[Entry], methods: list[str]) -> list[dict]:
    """Dataset leak rate per method: leaked face-frames / judged face-frames (with identifiable detail)."""
    rows = []
    for m in methods:
        audits = [e.audit[m] for e in entries if e.status in DONE and m in e.audit]
        if not audits:
            continue
        leaks = sum(int(a.get("leaks") or 0) for a in audits)
        faces = sum(int(a.get("judged_face_frames", a.get("face_frames")) or 0) for a in audits)  # identifiable
        rows.append({"method": m, "videos": len(audits), "face_frames": faces, "leaks": leaks,
                     "leak_rate": leaks / faces if faces else 0.0,
                     "videos_failing": sum(1 for a in audits if str(a.get("verdict", "")).lower() not in ("pass", "ok"))})
    return rows


# ----------------------------------------------------------------------------- files

def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.{digits}f}"
    return str(v)


def write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> Path:
    """Write rows (missing keys empty, NaN empty) to ``path`` atomically."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c), 4) for c in columns])
    return _write_text(path, buf.getvalue())


def _write_text(path: Path, text: str) -> Path:
    return write_text_atomic(path, text)


def write_report(output_dir: Path, manifest: BatchManifest, keys: list[str], methods: list[str]) -> Path:
    """Write report.html and the CSV tables for the inputs ``keys``; returns the HTML path."""
    entries = [manifest.entries[k] for k in keys if k in manifest.entries]
    labels = method_labels(entries, methods)
    tables = {
        "videos": video_rows(entries, labels),
        "keypoints": keypoint_rows(entries, labels),
        "angles": angle_rows(entries, labels),
    }
    tables["stats"] = stats_rows(entries, labels, tables["angles"], tables["keypoints"])
    tables["audit"] = audit_rows(entries, [m for m in labels if m != CONTROL])
    from anonymotion.batch.gait import GAIT_COLUMNS, pooled_gait_rows

    tables["gait"] = pooled_gait_rows(entries, labels)
    output_dir = Path(output_dir)
    if tables["gait"]:
        write_csv(output_dir / "report_gait.csv", GAIT_COLUMNS, tables["gait"])
    write_csv(output_dir / "report.csv", VIDEO_COLUMNS, tables["videos"])
    write_csv(output_dir / "report_keypoints.csv", KEYPOINT_COLUMNS, tables["keypoints"])
    write_csv(output_dir / "report_angles.csv", ANGLE_COLUMNS, tables["angles"])
    write_csv(output_dir / "report_stats.csv", STATS_COLUMNS, tables["stats"])
    return _write_text(output_dir / "report.html", render_html(entries, labels, tables, manifest))


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        "margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}"
        "td:first-child,th:first-child{text-align:left}.failed{background:#fde2e2}.note{color:#666}")


def _table(rows: list[dict], columns: Sequence[tuple[str, str]], digits: int = 2, cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in columns)
    body = []
    for r in rows:
        row_cls = ' class="failed"' if str(r.get("status", "")).lower().startswith("failed") else ""
        body.append(f"<tr{row_cls}>" + "".join(f"<td>{html.escape(_fmt(r.get(k), digits))}</td>" for k, _ in columns)
                    + "</tr>")
    return f'<table class="{cls}"><tr>{head}</tr>{"".join(body)}</table>'


def _pivot(rows: list[dict], key: str, labels: list[str], cell) -> list[dict]:
    out: dict[str, dict] = {}
    for r in rows:
        if r["scope"] != "ALL":
            continue
        out.setdefault(r[key], {key: r[key]})[r["method"]] = cell(r)
    return list(out.values())


def render_html(entries: list[Entry], labels: list[str], tables: dict[str, list[dict]],
                manifest: BatchManifest) -> str:
    """The report page (self-contained HTML, no scripts)."""
    done = sum(1 for e in entries if e.status in DONE)
    failed = [e for e in entries if e.status not in DONE]
    frames = sum(e.frames for e in entries if e.status in DONE)
    n_damaged = sum(1 for e in entries if e.status == "damaged")
    damaged = f" ({n_damaged} with damaged frames blurred whole)" if n_damaged else ""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>anonymotion batch report</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>anonymotion dataset report</h1>",
             f"<p>{len(entries)} input(s): {done} done{damaged}, {len(failed)} failed; {frames} frames. "
             f"Methods: {html.escape(', '.join(labels))}.</p>"]
    params = manifest.parameters or {}
    if params:
        parts.append(f"<p class='note'>Input folder {html.escape(str(params.get('input_dir', '')))}; "
                     f"evaluate: {params.get('evaluate')}; audit: {params.get('audit')}.</p>")
    if failed:
        parts.append("<h2>Failed</h2>")
        parts.append(_table([{"video": e.key, "error": e.error, "status": state_label(e)} for e in failed],
                            [("video", "input"), ("status", "status"), ("error", "error")]))
    flagged = [e for e in entries if e.status == "damaged" or (e.review and e.status in DONE)]
    if flagged:
        parts.append("<h2>Damaged or needing review</h2><p class='note'>Damaged inputs were anonymized with "
                     "--accept-damaged, each damaged frame blurred whole; they are left out of the evaluation "
                     "tables below (their pose was lost to the cover, not to the method).</p>")
        parts.append(_table([{"video": e.key, "status": state_label(e), "review": "; ".join(e.review)}
                             for e in flagged], [("video", "input"), ("status", "status"), ("review", "review")]))
    evaluated = [m for m in labels if any(m in e.evaluation for e in entries)]
    if evaluated:
        parts.append("<h2>Keypoints over the dataset</h2><p class='note'>End-point error μ ± 2σ (px), pooled over all "
                     "matched frames where the keypoint is detected (score ≥ threshold) in both videos; PTK in %.</p>")
        kp = _pivot(tables["keypoints"], "keypoint", evaluated,
                    lambda r: f"{_fmt(r['epe_mean_px'], 1)} ± {_fmt(r['epe_2sd_px'], 1)} ({_fmt(r['ptk_pct'], 0)}%)")
        delta = {r["name"]: r.get("delta_rmse") for r in tables["stats"] if r["measure"] == "keypoint_epe"}
        for r in kp:
            r["delta"] = delta.get(r["keypoint"])
        cols = [("keypoint", "keypoint")] + [(m, m) for m in evaluated]
        if len([m for m in evaluated if m != CONTROL]) > 1:
            cols.append(("delta", "Δ EPE"))
        parts.append(_table(kp, cols))
        parts.append("<h2>Joint angles over the dataset</h2><p class='note'>RMSE (SD) of the per-frame difference "
                     "anonymized − original, degrees, pooled over all videos; verdict from the excess over the "
                     "re-encode control: ok (within 5° and SD change below 1.27°), sd (SD change above 1.27°), "
                     "fail (over 5°).</p>")
        an = _pivot(tables["angles"], "angle", evaluated,
                    lambda r: f"{_fmt(r['rmse'], 2)} ({_fmt(r['sd'], 2)})" + (f" {r['verdict']}" if r.get("verdict") else ""))
        st = {r["name"]: r for r in tables["stats"] if r["measure"] == "angle_rmse"}
        for r in an:
            s = st.get(r["angle"], {})
            r.update({k: s.get(k) for k in ("delta_rmse", "delta_sd", "anova_p", "friedman_p", "note")})
        cols = [("angle", "angle")] + [(m, m) for m in evaluated]
        if len([m for m in evaluated if m != CONTROL]) > 1:
            cols += [("delta_rmse", "Δ RMSE"), ("delta_sd", "Δ SD")]
        if len(evaluated) > 1:
            cols += [("anova_p", "RM-ANOVA p"), ("friedman_p", "Friedman p"), ("note", "test note")]
        parts.append(_table(an, cols, digits=3))
        parts.append("<p class='note'>Tests across methods (the control included), videos as units, on each "
                     "video's angle RMSE: repeated-measures ANOVA (2+ methods) and Friedman (3+ methods); "
                     "videos where an angle is missing for a method are left out of that angle's tests.</p>")
    if tables.get("gait"):
        parts.append("<h2>Clinical gait outcomes over the dataset</h2><p class='note'>Gait cycles of the original "
                     "paired by time with each method's, pooled over all videos: Bland–Altman bias and 95 % limits "
                     "of agreement (method − original), ICC(3,1) with its 95 % CI; verdict: limits of agreement "
                     "within the outcome's limit, or no wider than the re-encode control's; original cycles lost "
                     "beyond the control's fail.</p>")
        parts.append(_table(tables["gait"], [(c, c.replace("_", " ")) for c in
                                             ("outcome", "method", "unit", "videos", "n_reference", "n_pairs", "lost",
                                              "bias", "loa_low", "loa_high", "icc", "icc_low", "icc_high", "limit",
                                              "verdict")], digits=3))
    if tables["audit"]:
        parts.append("<h2>Privacy audit</h2>")
        parts.append(_table(tables["audit"], [("method", "method"), ("videos", "videos"), ("face_frames", "face-frames"),
                                              ("leaks", "leaked"), ("leak_rate", "leak rate"),
                                              ("videos_failing", "videos not passing")], digits=4))
    parts.append("<h2>Per input</h2>")
    parts.append(_table(tables["videos"], [(c, c) for c in VIDEO_COLUMNS if c not in ("epe_norm", "pck_01")]))
    parts.append("<p class='note'>Tables: report.csv, report_keypoints.csv, report_angles.csv, report_stats.csv; "
                 "state: batch_manifest.json.</p></body></html>")
    return "\n".join(parts)
