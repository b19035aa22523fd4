"""Gait outcomes through the real pipeline (MediaPipe pose on real video): the street walkers,
a balancing participant who does not walk, and the ``outcomes`` command."""

from __future__ import annotations

import csv

import pytest

from anonymotion.cli import main
from anonymotion.evaluation.outcomes import summary_rows, video_outcomes
from anonymotion.report.gait import OUTCOME_COLUMNS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _plausible(c) -> bool:
    v = c.values
    return (0.6 <= v["stride_time"] <= 2.5 and 48 <= v["cadence"] <= 200 and 20 <= v["stance"] <= 90
            and abs(v["stance"] + v["swing"] - 100) < 1e-9)


def test_street_walkers_give_plausible_cycles_or_say_why_not(shared_data):
    res = video_outcomes(shared_data("street_720p50.avi"))
    assert res.fps == pytest.approx(50.0) and res.persons
    for p in res.persons:
        assert p.events.t.shape == (205,)
        if p.cycles:
            assert all(_plausible(c) for c in p.cycles), [c.values for c in p.cycles]
        else:
            assert p.note.startswith("no gait cycles:") and ("rejected" in p.note or "leg lengths" in p.note)
    rows = summary_rows(res)
    assert [r["person"] for r in rows] == [p.person for p in res.persons]


def test_a_balancing_participant_is_not_walking(shared_data):
    res = video_outcomes(shared_data("lab_single/cam01.mp4"))
    (p,) = res.persons
    assert p.cycles == () and p.note.startswith("no gait cycles")


def test_outcomes_command_writes_csv_and_plots_and_says_when_nobody_walks(shared_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["outcomes", str(shared_data("lab_single/cam01.mp4")), "-o", str(out), "--max-frames", "60"]) == 0
    printed = capsys.readouterr().out
    assert "person 1: no gait cycles" in printed
    with open(out / "outcomes.csv", newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == OUTCOME_COLUMNS
        assert list(reader) == []  # no cycle, no row: nothing invented
    assert (out / "cam01.p1.events.png").stat().st_size > 5_000
    assert not (out / "cam01.p1.curves.png").exists()


@pytest.mark.timeout(60)
def test_outcomes_command_refuses_bad_input_with_one_line(tmp_path, capsys):
    assert main(["outcomes", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("anonymotion: error:") and "missing.mp4" in err[0]
    assert main(["outcomes", str(tmp_path / "missing.mp4"), "--min-stride", "3", "--max-stride", "2"]) == 2
    assert "--min-stride" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
