"""The web person picker: the participant first, the bystander second, with a subject box holding each."""

from __future__ import annotations

import pytest

from anonymotion.web.persons import find_persons, first_frame

pytestmark = pytest.mark.timeout(300)


def test_the_lab_participant_comes_first_and_the_bystander_second(shared_data) -> None:
    persons = find_persons(first_frame(shared_data("lab_single/cam01.mp4")))
    assert [p.id for p in persons] == [1, 2]
    participant, bystander = persons
    x1, y1, x2, y2 = participant.box
    assert x1 < 400 < x2 and y1 < 800 < y2 and y2 - y1 > 500  # the tall person in the middle of the 1080x1920 frame
    assert bystander.box[2] < 200  # the bystander stands at the left edge, at the back
    assert participant.score > bystander.score
    sx1, sy1, sx2, sy2 = (float(v) for v in participant.subject().split(","))
    assert sx1 <= x1 and sy1 <= y1 and sx2 >= x2 and sy2 >= y2  # the subject box holds the whole person
