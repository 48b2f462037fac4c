"""Regulatory checklist of reference §6.9 — informational flags, never legal advice."""

from .models import Pathway

DISCLAIMER = "Informational only, not legal advice: confirm with regulatory counsel."


def missing_for_svf(
    *, svf_method: str, jurisdiction: str, pathway: str, reference: str, ethics: str
) -> list[str]:
    """What must be filled in before an SVF procedure may be logged (§6.9 item 1)."""
    if not svf_method:
        return []
    missing = []
    if not jurisdiction.strip():
        missing.append("jurisdiction")
    if not pathway or pathway == Pathway.NONE:
        missing.append("regulatory pathway")
    if not (reference.strip() or ethics.strip()):
        missing.append("IND, IRB or ethics approval number")
    return missing


def flags(procedure) -> list[str]:
    out = []
    if procedure.svf_method:
        out.append(
            "SVF isolation (enzymatic or mechanical) is more than minimal manipulation in the FDA's view "
            "(2017 guidance; 9th Cir. 2024)."
        )
        if procedure.mixture_prp_ml:
            out.append("SVF combined with PRP: combination with another article, 21 CFR 1271.10(a)(3).")
        if "hair" in procedure.indication.lower():
            out.append("Hair growth is not a basic function of subcutaneous fat: non-homologous use.")
        if procedure.same_surgical_procedure_claimed:
            out.append(
                "'Same surgical procedure' claimed: the 9th Cir. (2024) held the exception does not apply "
                "when fat is removed and SVF is implanted."
            )
        if "california" in procedure.jurisdiction.lower():
            out.append(
                "California: patients must be given the notice about non-FDA-approved stem-cell treatments "
                "(B&P Code §684)."
            )
    if procedure.payment_recorded and procedure.pathway == Pathway.IND:
        out.append(
            "Payment for an investigational product under an IND needs FDA authorisation (21 CFR 312.8)."
        )
    missing_qc = [
        label
        for label, value in [
            ("viability", procedure.viability_pct),
            ("cell count", procedure.nucleated_cells),
            ("PRP platelet count", procedure.prp_platelets),
            ("baseline platelet count", procedure.baseline_platelets),
        ]
        if value is None
    ]
    if missing_qc:
        out.append("Product QC missing before injection: " + ", ".join(missing_qc) + ".")
    return out
