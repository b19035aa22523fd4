"""Bland–Altman and ICC(3,1) against published worked examples (not against their own formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.metrics.agreement import bland_altman, icc_3_1, icc_pairs

pytestmark = pytest.mark.timeout(30)

# Bland JM, Altman DG. Statistical methods for assessing agreement between two methods of
# clinical measurement. Lancet 1986;i:307-310, Table 1: peak expiratory flow rate (l/min) of
# 17 subjects, first reading with the Wright peak flow meter and with the mini Wright meter.
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]

# Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
# Psychol Bull 1979;86:420-428, Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])

# McGraw KO, Wong SP. Forming inferences about some intraclass correlation coefficients.
# Psychol Methods 1996;1:30-46, Table 6 data: 10 targets × 2 measurements.
MCGRAW_WONG = np.array([[103, 119], [82, 65], [116, 106], [102, 102], [99, 105], [98, 100], [104, 107],
                        [62, 85], [97, 101], [107, 110]])


def test_bland_altman_reproduces_the_1986_pefr_example():
    """Bland & Altman 1986: mean difference (Wright − mini) −2.1 l/min, SD 38.8 l/min, limits
    of agreement −79.7 to 75.5 l/min (the paper uses bias ± 2 SD)."""
    ba = bland_altman(MINI, WRIGHT, z=2.0)
    assert ba.n == 17
    assert ba.bias == pytest.approx(-2.1, abs=0.05)
    assert ba.sd == pytest.approx(38.8, abs=0.05)
    assert ba.loa_low == pytest.approx(-79.7, abs=0.1)  # paper: −2.1 − 2 × 38.8 from rounded values
    assert ba.loa_high == pytest.approx(75.5, abs=0.1)
    # the default is the usual 1.96 SD: narrower than the paper's 2 SD limits, same bias
    ba196 = bland_altman(MINI, WRIGHT)
    assert ba196.bias == ba.bias and -79.7 < ba196.loa_low < ba196.loa_high < 75.5


def test_icc_3_1_reproduces_shrout_fleiss_table_4():
    """Shrout & Fleiss 1979 Table 4: ICC(3,1) = .71 for the Table 2 data. The 95 % CI
    0.342–0.946 is what R's psych::ICC prints for the same data (Single_fixed_raters)."""
    icc = icc_3_1(SHROUT_FLEISS)
    assert (icc.n, icc.k, icc.df1, icc.df2) == (6, 4, 5, 15)
    assert round(icc.value, 2) == 0.71
    assert icc.F == pytest.approx(11.03, abs=0.01)  # BMS 11.24 / EMS 1.02 in the paper's Table 3
    assert icc.low == pytest.approx(0.342, abs=0.001)
    assert icc.high == pytest.approx(0.946, abs=0.001)


def test_icc_3_1_of_two_methods_matches_mcgraw_wong_example():
    """McGraw & Wong 1996 Table 6 data: ICC(C,1) = .714; R DescTools::ICC gives the 95 % CI
    0.197–0.920 for it (Single_fixed_raters)."""
    icc = icc_pairs(MCGRAW_WONG[:, 0], MCGRAW_WONG[:, 1])
    assert icc.value == pytest.approx(0.714, abs=0.001)
    assert icc.low == pytest.approx(0.197, abs=0.001)
    assert icc.high == pytest.approx(0.920, abs=0.001)


def test_a_measurement_agrees_perfectly_with_itself():
    x = np.array([101.0, 97.5, 110.2, 104.0, np.nan, 99.1])
    ba = bland_altman(x, x.copy())
    assert (ba.n, ba.bias, ba.sd, ba.loa_low, ba.loa_high) == (5, 0.0, 0.0, 0.0, 0.0)
    icc = icc_pairs(x, x.copy())
    assert (icc.value, icc.low, icc.high) == (1.0, 1.0, 1.0)


def test_degenerate_inputs_give_nan_with_a_reason():
    assert bland_altman([], []).note == "no pairs"
    one = bland_altman([1.0], [1.5])
    assert one.n == 1 and one.bias == 0.5 and one.worst == 0.5 and np.isnan(one.sd)
    flat = icc_pairs([3.0, 3.0, 3.0], [3.0, 3.0, 3.0])
    assert np.isnan(flat.value) and "no variance" in flat.note
    assert np.isnan(icc_pairs([1.0], [1.0]).value)
    with pytest.raises(ValueError):
        bland_altman([1.0, 2.0], [1.0])
