"""3D comparison and the study's tables on synthetic triangulations: 0 mm against itself, Δ rows, the judge, stats."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from anonymotion.multiview.compare import compare_runs, match_persons
from anonymotion.multiview.results import MultiviewResult, Person3D
from anonymotion.multiview.tables import build_multiview_tables
from anonymotion.pose.skeletons import MEDIAPIPE_33

T, K, C = 40, 33, 4


def _walker(skeleton, offset, phase: float = 0.0) -> np.ndarray:
    """(T, K, 3) mm: a skeleton bending its knees and swinging its arms."""
    pts = np.stack([skeleton(offset) for _ in range(T)])
    swing = 80 * np.sin(np.linspace(0, 4 * np.pi, T) + phase)
    for name in ("left_knee", "right_knee"):
        pts[:, MEDIAPIPE_33.index(name), 0] += swing
    for name in ("left_wrist", "right_wrist", "left_elbow"):
        pts[:, MEDIAPIPE_33.index(name), 0] -= swing
    return pts


def _result(*persons: np.ndarray) -> MultiviewResult:
    ps = tuple(Person3D(id=f"person{i + 1}", points=p, error=np.zeros((T, K, C), np.float32),
                        used=np.ones((T, K, C), bool), members=np.zeros((T, C), np.int16))
               for i, p in enumerate(persons))
    return MultiviewResult(t=np.arange(T) / 60, names=MEDIAPIPE_33, cameras=("a", "b", "c", "d"), persons=ps,
                           view_present=np.ones((T, C), bool), up=np.array([0.0, 0.0, 1.0]))


def test_a_triangulation_compared_with_itself_gives_0_mm_and_0_degrees(skeleton):
    ref = _result(_walker(skeleton, (-1000, 0, 0)), _walker(skeleton, (-300, 1000, 0), 1.0))
    (c1, c2) = compare_runs(ref, ref)
    assert c1.match == "person1" and c2.match == "person2"
    assert c1.mpjpe == 0.0 and np.nanmax(c1.errors) == 0.0 and c1.frames == T
    assert all(r["rmse"] == 0.0 for r in c1.angle_rows if r["n"])
    assert sum(r["n"] for r in c1.angle_rows) > 0


def test_persons_are_matched_by_position_not_by_name(skeleton):
    a, b = _walker(skeleton, (-1000, 0, 0)), _walker(skeleton, (-300, 1000, 0))
    ref, test = _result(a, b), _result(b + 5.0, a + 5.0)  # ids swapped in the test run
    assert match_persons(ref, test) == {"person1": "person2", "person2": "person1"}
    far = _result(a + 2000.0)
    assert match_persons(ref, far) == {"person1": None, "person2": None}
    c = compare_runs(ref, far)[0]
    assert c.match is None and np.isnan(c.mpjpe) and c.frames == 0


def _study(skeleton, noise: dict[str, float], n_persons: int = 1):
    rng = np.random.default_rng(0)
    persons = [_walker(skeleton, (-1000 + 900 * i, 0, 0), i) for i in range(n_persons)]
    ref = _result(*persons)
    comparisons = {}
    for label, sd in noise.items():
        test = _result(*[p + rng.normal(0, sd, p.shape) for p in persons])
        comparisons[label] = compare_runs(ref, test)
    return build_multiview_tables(comparisons, list(noise), MEDIAPIPE_33)


def test_table1_has_mu_2sigma_per_joint_and_a_delta_row(skeleton):
    tables = _study(skeleton, {"reencode": 2.0, "blur": 3.0, "block": 12.0})
    rows = tables["mpjpe"]
    assert [r["method"] for r in rows] == ["reencode", "blur", "block", "Δ"]
    ctl, blur, block, delta = rows
    # isotropic 3D noise of SD s: mean distance ≈ 1.6 s
    assert 2.5 < ctl["mpjpe_mm"] < 4.0 and 15 < block["mpjpe_mm"] < 24
    assert delta["mpjpe_mm"] == block["mpjpe_mm"] - blur["mpjpe_mm"]  # control excluded from Δ
    assert 2.5 < ctl["mpjpe_all_mm"] < 4.0  # the same noise on every keypoint: both means agree
    assert delta["left_knee_mean"] == block["left_knee_mean"] - blur["left_knee_mean"]
    assert 0 < blur["left_knee_2sd"] < 4 * 3.0


def test_table3_and_verdicts_use_the_one_judge(skeleton):
    tables = _study(skeleton, {"reencode": 8.0, "blur": 1.0, "block": 40.0})
    knee = next(r for r in tables["angles3d"] if r["angle"] == "left_knee_flexion")
    assert knee["blur_rmse"] < knee["reencode_rmse"] < knee["block_rmse"]
    assert knee["delta_rmse"] == knee["block_rmse"] - knee["blur_rmse"]
    assert knee["delta_sd"] == knee["block_sd"] - knee["blur_sd"]
    verdicts = {(r["angle"], r["method"]): r for r in tables["verdicts"]}
    blur = verdicts[("left_knee_flexion", "blur")]
    assert blur["excess_rmse"] < 0 and blur["verdict"] == "ok"  # beating the control is never penalised
    assert blur["n"] == T and blur["control_n"] == T  # says what it was judged on
    assert verdicts[("left_knee_flexion", "block")]["verdict"] in ("fail", "sd")


def test_one_person_uses_paired_tests_and_says_so(skeleton):
    tables = _study(skeleton, {"reencode": 2.0, "blur": 6.0})
    assert np.isnan(tables["mpjpe"][-1]["mpjpe_mm"])  # Δ of a single method is left empty, not 0
    stats = tables["stats"]
    assert {r["test"] for r in stats} == {"wilcoxon"}
    assert "instead of a repeated-measures ANOVA" in stats[0]["note"]
    knee = next(r for r in stats if r["measure"].startswith("left_knee_flexion"))
    assert knee["n"] == T and knee["p"] < 0.05


def test_several_persons_get_a_repeated_measures_anova(skeleton):
    stats = _study(skeleton, {"reencode": 2.0, "blur": 3.0, "block": 30.0}, n_persons=3)["stats"]
    assert {r["test"] for r in stats} == {"rm-anova"}
    mpjpe = stats[0]
    assert mpjpe["measure"] == "MPJPE (mm)" and mpjpe["units"] == 3 and mpjpe["anova_p"] < 0.05
    assert "3 persons/trials" in mpjpe["note"]


def test_no_person_gives_empty_tables_not_a_crash():
    empty = replace(_result(), persons=())
    tables = build_multiview_tables({"reencode": compare_runs(empty, empty), "blur": compare_runs(empty, empty)},
                                    ["reencode", "blur"], MEDIAPIPE_33)
    assert tables["mpjpe"] == [] and tables["verdicts"] == []
    assert tables["stats"][0]["test"] == "none"
