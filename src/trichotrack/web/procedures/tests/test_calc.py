import pytest

from trichotrack.web.procedures import calc


def test_lidocaine_per_kg():
    assert calc.lidocaine_mg_per_kg(1400, 40) == 35
    assert calc.lidocaine_mg_per_kg(1400, None) is None
    assert calc.lidocaine_mg_per_kg(None, 60) is None


def test_fold_over_baseline():
    assert calc.fold_over_baseline(1200, 240) == pytest.approx(5.0)
    assert calc.fold_over_baseline(1200, 0) is None


@pytest.mark.parametrize(
    ("prp", "baseline", "expected"),
    [
        (200, 250, "P1"),
        (250, 250, "P1"),
        (251, 250, "P2"),
        (750, 250, "P2"),
        (751, 250, "P3"),
        (1251, 250, "P4"),
    ],
)
def test_paw_platelet_classes(prp, baseline, expected):
    assert calc.paw_class(prp, baseline, activated=False) == expected


def test_paw_activation_and_white_cells():
    assert calc.paw_class(1000, 250, activated=True, prp_wbc=8, baseline_wbc=6) == "P3-x-A"
    assert calc.paw_class(1000, 250, activated=False, prp_wbc=1, baseline_wbc=6) == "P3-B"
    assert calc.paw_class(None, 250, activated=False) is None


def test_depa_dose_efficiency_purity():
    # 1,000 ×10³/µL × 6 mL = 6 × 10⁹ platelets (A); 1000×6 / (250×60) = 40 % (C); purity 1000/(1000+1+50) (A)
    d = calc.depa_class(
        prp_platelets=1000,
        injected_prp_ml=6,
        baseline_platelets=250,
        blood_ml=60,
        prp_ml=6,
        prp_wbc=1,
        prp_rbc_10e6=0.05,
    )
    assert d["dose"] == pytest.approx(6e9)
    assert d["efficiency_pct"] == pytest.approx(40.0)
    assert d["purity_pct"] == pytest.approx(100 * 1000 / 1051)
    assert d["code"] == "ACA"


@pytest.mark.parametrize(("ml", "letter"), [(5.1, "A"), (5.0, "B"), (3.0, "B"), (2.9, "C"), (0.9, "D")])
def test_depa_dose_boundaries(ml, letter):
    d = calc.depa_class(
        prp_platelets=1000, injected_prp_ml=ml, baseline_platelets=None, blood_ml=None, prp_ml=None
    )
    assert d["D"] == letter
    assert d["E"] is None
    assert d["code"].startswith(letter + "??")


def test_svf_flags_name_each_missed_threshold():
    flags = calc.svf_flags({"viability_pct": 65, "cd34_pct": 25, "cd45_pct": 55, "cd235a_pct": None})
    assert len(flags) == 2
    assert flags[0].startswith("Viability 65%")
    assert "CD45 55%" in flags[1]
    assert calc.svf_flags({"viability_pct": 85, "cd34_pct": 25, "cd45_pct": 30}) == []


def test_svf_flags_mark_unverified_thresholds():
    (flag,) = calc.svf_flags({"cd235a_pct": 3})
    assert "unverified" in flag


def test_per_unit_handles_missing_and_zero():
    assert calc.per_unit(4e7, 100) == 4e5
    assert calc.per_unit(4e7, 0) is None
    assert calc.per_unit(None, 10) is None
