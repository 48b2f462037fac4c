"""Derived values of a procedure record: pure functions on numbers, no database (reference §1–§2).

Units are in the names. Platelet and white-cell counts are in 10³/µL, red cells in 10⁶/µL.
"""

LIDOCAINE_LIMIT_MG_PER_KG = 35.0  # Klein's commonly cited limit; some guidelines allow 55 (reference §5.1)
LIDOCAINE_HARD_LIMIT_MG_PER_KG = 55.0

# IFATS/ISCT thresholds for uncultured SVF (Bourin 2013, Table 1 as commonly cited; reference §1.1).
# (marker, comparison, limit, how sure the reference is)
SVF_THRESHOLDS = [
    ("viability_pct", ">", 70.0, "R"),
    ("cd34_pct", ">", 20.0, "R"),
    ("cd45_pct", "<", 50.0, "R"),
    ("cd235a_pct", "<", 2.0, "U"),
    ("cd31_pct", "<", 20.0, "U"),
]


def lidocaine_mg_per_kg(total_mg: float | None, weight_kg: float | None) -> float | None:
    if total_mg is None or not weight_kg:
        return None
    return total_mg / weight_kg


def svf_flags(values: dict) -> list[str]:
    """Messages for each IFATS/ISCT threshold that a measured value misses (unmeasured values are skipped)."""
    out = []
    for name, op, limit, sureness in SVF_THRESHOLDS:
        value = values.get(name)
        if value is None:
            continue
        ok = value > limit if op == ">" else value < limit
        if not ok:
            label = name.removesuffix("_pct").upper().replace("VIABILITY", "Viability")
            note = " (threshold unverified)" if sureness == "U" else ""
            out.append(f"{label} {value:g}% — IFATS/ISCT expects {op}{limit:g}%{note}")
    return out


def per_unit(total: float | None, amount: float | None) -> float | None:
    """`total` divided by `amount`, or None when either is missing or `amount` is zero."""
    if total is None or not amount:
        return None
    return total / amount


def fold_over_baseline(prp_platelets: float | None, baseline_platelets: float | None) -> float | None:
    return per_unit(prp_platelets, baseline_platelets)


def paw_class(
    prp_platelets: float | None,
    baseline_platelets: float | None,
    *,
    activated: bool,
    prp_wbc: float | None = None,
    baseline_wbc: float | None = None,
) -> str | None:
    """PAW code (DeLong 2012), e.g. ``P3-x-Bβ``; the neutrophil suffix is left out (not recorded)."""
    if prp_platelets is None or baseline_platelets is None:
        return None
    if prp_platelets <= baseline_platelets:
        p = "P1"
    elif prp_platelets <= 750:
        p = "P2"
    elif prp_platelets <= 1250:
        p = "P3"
    else:
        p = "P4"
    code = p + ("-x" if activated else "")
    if prp_wbc is not None and baseline_wbc is not None:
        code += "-A" if prp_wbc > baseline_wbc else "-B"
    return code


def _grade(value: float, cuts: tuple[float, float, float]) -> str:
    a, b, c = cuts
    return "A" if value > a else "B" if value >= b else "C" if value >= c else "D"


def depa_class(
    *,
    prp_platelets: float | None,
    injected_prp_ml: float | None,
    baseline_platelets: float | None,
    blood_ml: float | None,
    prp_ml: float | None,
    prp_wbc: float | None = None,
    prp_rbc_10e6: float | None = None,
    activated: bool = False,
) -> dict | None:
    """DEPA (Magalon 2016): dose, efficiency, purity letters plus the numbers behind them.

    dose = platelets/µL × injected µL;
    efficiency = PRP platelets × PRP volume ÷ (blood platelets × blood volume);
    purity = platelets ÷ (platelets + WBC + RBC). Letters are None where an input is missing.
    """
    if prp_platelets is None or injected_prp_ml is None:
        return None
    dose = prp_platelets * 1e3 * injected_prp_ml * 1e3  # per µL × µL
    out = {
        "dose": dose,
        "D": _grade(dose, (5e9, 3e9, 1e9)),
        "E": None,
        "P": None,
        "A": "yes" if activated else "no",
    }
    if baseline_platelets and blood_ml and prp_ml is not None:
        efficiency = 100 * prp_platelets * prp_ml / (baseline_platelets * blood_ml)
        out["efficiency_pct"] = efficiency
        out["E"] = _grade(efficiency, (90, 70, 30))
    if prp_wbc is not None and prp_rbc_10e6 is not None:
        total = prp_platelets + prp_wbc + prp_rbc_10e6 * 1e3
        purity = 100 * prp_platelets / total if total else 0.0
        out["purity_pct"] = purity
        out["P"] = _grade(purity, (90, 70, 30))
    out["code"] = "".join(out[k] or "?" for k in ("D", "E", "P")) + ("-act" if activated else "")
    return out
