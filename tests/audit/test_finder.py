"""The audit's finder: independent of the anonymizer by construction, stricter than it."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from anonymotion.audit import AuditSettings, DetectorSetup
from anonymotion.audit.finder import FAMILY, AuditFinder, Member, anonymizer_setup, audit_members, stricter
from anonymotion.errors import ConfigError

SPECS = ["centerface", "yunet", "blazeface", "both", "centerface,yunet", "centerface-ms", "centerface-ms,yunet",
         "centerface,yunet,blazeface"]
FRAMES = [(640, 480), (1280, 720), (1080, 1920), (3840, 2160)]


@pytest.mark.parametrize("spec", SPECS)
def test_finder_always_holds_a_family_the_anonymizer_did_not_use(spec: str) -> None:
    setup = DetectorSetup.parse(spec)
    members = audit_members(setup)
    used = {FAMILY[n] for n in setup.names}
    assert {"centerface", "yunet"} <= {m.family for m in members}
    if used == {"centerface", "yunet", "blazeface"}:  # nothing is left: said so in audit.json
        assert {m.family for m in members} == used
        return
    assert {m.family for m in members} - used, f"no independent detector for {spec}"


def test_the_issues_table() -> None:
    fam = lambda spec: [m.family for m in audit_members(DetectorSetup.parse(spec))]  # noqa: E731
    assert fam("centerface") == ["centerface", "yunet"]  # YuNet when CenterFace masked
    yunet_masked = {m.family: m for m in audit_members(DetectorSetup.parse("yunet"))}
    assert yunet_masked["centerface"].upscale > 1  # CenterFace at a larger scale when YuNet masked
    assert fam("centerface,yunet") == ["centerface", "yunet", "blazeface"]
    assert [m.family for m in audit_members(DetectorSetup())] == ["centerface", "yunet"]  # unknown origin: both


@pytest.mark.parametrize("spec,threshold,size", list(product(SPECS, [None, 0.2, 0.35, 0.6], [None, 640, 1920, 4096])))
def test_every_member_is_stricter_than_the_anonymizers_detector_of_its_family(spec, threshold, size) -> None:
    setup = DetectorSetup.parse(spec, threshold, size)
    for member in audit_members(setup):
        for w, h in FRAMES:
            assert stricter(member, setup, w, h), (member, setup, (w, h))
            if member.family in setup.families:
                assert member.threshold <= setup.threshold_for(member.family)
                assert member.scale_for(w, h) >= setup.scale_for(member.family, w, h)


def test_the_relation_rejects_equal_or_weaker_settings() -> None:
    setup = DetectorSetup.parse("centerface", 0.3, 1280)
    same = Member("centerface", 0.3, 1280, 1.0)
    weaker_size = Member("centerface", 0.2, 640, 1.0)
    higher = Member("centerface", 0.4, 0, 2.0)
    for m in (same, weaker_size, higher):
        assert not stricter(m, setup, 1920, 1080)
    assert stricter(Member("centerface", 0.29, 1280, 1.0), setup, 1920, 1080)
    assert stricter(Member("yunet", 0.9, 640, 1.0), setup, 1920, 1080)  # another family: independent


def test_a_finder_without_an_independent_family_is_refused() -> None:
    setup = DetectorSetup.parse("centerface,yunet")
    with pytest.raises(ConfigError, match="did not use"):
        AuditFinder(setup, [Member("centerface", 0.1, 0, 2.0), Member("yunet", 0.2, 0, 1.5)])


def test_threshold_factor_must_make_the_audit_stricter() -> None:
    for bad in (1.0, 1.2, 0.0):
        with pytest.raises(ConfigError, match="stricter"):
            AuditSettings(threshold_factor=bad).validated()
    with pytest.raises(ConfigError, match="anonymized-with"):
        AuditSettings(anonymized_with="retinaface").validated()


def test_origin_is_read_from_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "clip_anonymized.mp4"
    out.write_bytes(b"")
    assert anonymizer_setup(out) == DetectorSetup()  # no manifest: unknown
    (tmp_path / "clip_anonymized.manifest.json").write_text(json.dumps(
        {"parameters": {"detector": "yunet", "face_threshold": 0.4, "detect_size": 960}}))
    assert anonymizer_setup(out) == DetectorSetup(("yunet",), 0.4, 960)
    (tmp_path / "clip_anonymized.manifest.json").write_text("{not json")
    assert anonymizer_setup(out) == DetectorSetup()
    assert AuditSettings(anonymized_with="unknown").setup_for(out) == DetectorSetup()


def test_confirmation_rule_on_candidates() -> None:
    """Two families agree -> face; the anonymizer's own family at its threshold -> face; one
    other family below its confident score -> not a face (a hand at YuNet 0.72); at a confident score -> face."""
    from anonymotion.types import Regions

    class Fixed:
        def __init__(self, name: str, boxes: list, scores: list) -> None:
            self.name, self.boxes, self.scores = name, boxes, scores

        def detect(self, rgb):
            n = len(self.boxes)
            return Regions(np.asarray(self.boxes, np.float32).reshape(-1, 4), np.asarray(self.scores, np.float32),
                           np.full(n, -1, np.int64), (self.name,) * n)

    finder = AuditFinder.__new__(AuditFinder)
    finder.setup = DetectorSetup.parse("centerface")
    finder.members = []
    finder.name = "test"
    finder.detectors = [
        Fixed("centerface", [[0, 0, 20, 25], [100, 0, 120, 25], [300, 0, 320, 25]], [0.3, 0.25, 0.12]),
        Fixed("yunet", [[2, 3, 19, 22], [200, 0, 220, 25], [400, 0, 420, 25]], [0.5, 0.72, 0.8]),
    ]
    found = finder.find(np.zeros((50, 500, 3), np.uint8))
    verdict = {tuple(b[:1].astype(int)): bool(c) for b, c in zip(found.regions.boxes, found.confirmed)}
    assert verdict[(2,)] or verdict.get((0,), False)  # both families
    assert verdict[(100,)]  # CenterFace alone, above the anonymizer's 0.2: the anonymizer could see it
    assert not verdict[(300,)]  # CenterFace alone below the anonymizer's threshold
    assert not verdict[(200,)]  # YuNet alone, 0.72 < 0.75
    assert verdict[(400,)]  # YuNet alone, confident
