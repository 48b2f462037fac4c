"""Claims check: refuse publication or marketing wording that the data cannot support (reference §6.8).

Health claims generally need randomised controlled human trials (FTC Health Products Compliance Guidance,
2022); before/after photos and testimonials act as endorsements and imply typical results. The check is
deliberately strict and purely lexical: it refuses a sentence that *contains* efficacy wording ("does not
cure" is refused too); rephrase as a description of what was measured ("the wash-test count fell from 130
to 70 hairs; one patient, no comparison group").

Wording and what it needs:

absolute ("cures", "guaranteed", "permanent", "miracle", "100 %")
    never supported by any analysis;
regulatory ("FDA-approved", "FDA-cleared")
    not something an outcome analysis can support;
proof ("proven", "clinically shown", "studies show"), efficacy ("works", "effective", "reduces shedding",
"improves") and regrowth ("regrows", "hair growth", "thicker", "restores")
    a cohort analysis with a randomised comparison group, at least `SMALL_N` treated patients with an
    endpoint, and a treated-minus-comparison interval wholly on the favourable side of zero; regrowth wording
    also needs a measure of hair present (density, width), not of shedding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trichotrack.evidence.cohort import SMALL_N, CohortAnalysis
from trichotrack.evidence.patient import PatientAnalysis

__all__ = ["ClaimCheck", "check_claim"]

_PATTERNS: dict[str, tuple[str, ...]] = {
    "absolute": (
        r"\bcur(?:e|es|ed|ing|ative)\b",
        r"\bguarantee\w*",
        r"\bpermanent\w*",
        r"\bmiracle\w*",
        r"(?<![-+−])\b100\s*%",
        r"\bforever\b",
        r"\bonce and for all\b",
        r"\bbreakthrough\w*",
    ),
    "regulatory": (
        r"\bfda[-\s]*(?:approved|cleared|authori[sz]ed|registered|certified)\b",
        r"\bapproved by the fda\b",
    ),
    "proof": (
        r"\bprov(?:en|ed|es|e)\b",
        r"\bclinically\b",
        r"\bscientifically\b",
        r"\b(?:studies|study|research|science|trials?|data) (?:show|shows|showed|prove|proves|confirms?)\b",
        r"\bevidence[-\s]based\b",
    ),
    "efficacy": (
        r"\bwork(?:s|ed|ing)?\b",
        r"\beffective\w*",
        r"\befficac\w*",
        r"\bimprov\w*",
        r"\b(?:stops?|stopped|halts?|halted|reduc(?:es?|ed|ing)|lowers?|lowered|ends?|ended|prevents?|"
        r"prevented|fights?|beats?) (?:the |your )?(?:hair ?loss|hair ?fall|shedding|balding|alopecia)\b",
        r"\btreats?\b",
        r"\bheal(?:s|ed|ing)?\b",
        r"\bfix(?:es|ed)?\b",
        r"\bsolution\b",
    ),
    "regrowth": (
        r"\bre-?grow\w*",
        r"\bgrows? (?:new |back |more )?hair\b",
        r"\bhair ?growth\b",
        r"\brestor\w*",
        r"\brevers\w*",
        r"\bthicker\b",
        r"\bthicken\w*",
        r"\bfuller\b",
        r"\bdenser\b",
    ),
}
_COMPILED = {cat: tuple(re.compile(p, re.IGNORECASE) for p in pats) for cat, pats in _PATTERNS.items()}


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on one proposed sentence.

    Attributes
    ----------
    sentence : str
    allowed : bool
    reasons : tuple of str
        Why it was refused, one plain sentence each; empty when allowed.
    terms : tuple of str
        The efficacy wording found, as written.
    categories : tuple of str
        Which kinds of wording were found (absolute, regulatory, proof, efficacy, regrowth).
    """

    sentence: str
    allowed: bool
    reasons: tuple[str, ...]
    terms: tuple[str, ...]
    categories: tuple[str, ...]


def check_claim(sentence: str, analysis: PatientAnalysis | CohortAnalysis) -> ClaimCheck:
    """Whether `sentence` claims more than `analysis` supports.

    Parameters
    ----------
    sentence : str
        The proposed wording for a publication, a report or an advertisement.
    analysis : PatientAnalysis or CohortAnalysis
        What the wording rests on. Not modified.

    Returns
    -------
    ClaimCheck
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"sentence must be a non-empty string, got {sentence!r}")
    if not isinstance(analysis, PatientAnalysis | CohortAnalysis):
        raise ValueError(
            f"analysis must be a PatientAnalysis or CohortAnalysis, got {type(analysis).__name__}"
        )

    found: dict[str, list[str]] = {}
    for category, patterns in _COMPILED.items():
        for pattern in patterns:
            for match in pattern.finditer(sentence):
                found.setdefault(category, []).append(match.group(0))
    terms = tuple(t for ts in found.values() for t in ts)
    reasons: list[str] = []

    def quote(cat):
        return ", ".join(f"“{t}”" for t in found[cat])

    if "absolute" in found:
        reasons.append(
            f"{quote('absolute')}: no data can support an absolute claim (a cure, a guarantee, a permanent "
            "result)."
        )
    if "regulatory" in found:
        reasons.append(
            f"{quote('regulatory')}: regulatory status is not something an outcome analysis can support; "
            "check it separately (reference §6), and never imply approval that does not exist."
        )
    needs_evidence = [c for c in ("proof", "efficacy", "regrowth") if c in found]
    if needs_evidence:
        wording = ", ".join(quote(c) for c in needs_evidence)
        reasons.extend(_evidence_gaps(wording, analysis, regrowth="regrowth" in found))
    return ClaimCheck(
        sentence=sentence,
        allowed=not reasons,
        reasons=tuple(reasons),
        terms=terms,
        categories=tuple(found),
    )


def _evidence_gaps(wording: str, analysis, *, regrowth: bool) -> list[str]:
    if isinstance(analysis, PatientAnalysis):
        codes = sorted({c.code for c in analysis.all_warnings()})
        out = [
            f"{wording}: a single patient without a comparison cannot show that the treatment caused a "
            "change; health claims need randomised controlled trials."
        ]
        if codes:
            out.append("This patient's own warnings also apply: " + ", ".join(codes) + ".")
        if regrowth and not analysis.higher_is_better:
            out.append(f"{wording}: a {analysis.label} measures shedding, not regrowth.")
        return out
    out = []
    if analysis.comparison is None or (
        analysis.difference_itt is None and analysis.difference_complete_case is None
    ):
        out.append(
            f"{wording}: there is no untreated comparison group with endpoint measurements, so the change "
            "cannot be attributed to the treatment (shedding resolves by itself, patients come at their "
            "worst)."
        )
    else:
        if not analysis.randomised:
            out.append(
                f"{wording}: the comparison group was not randomised; health claims generally need "
                "randomised controlled trials."
            )
        if not analysis.favourable_difference_shown:
            diff = analysis.difference_itt or analysis.difference_complete_case
            out.append(
                f"{wording}: the treated-minus-untreated difference ({diff.estimate:.3g}, 95 % interval "
                f"{diff.low:.3g} to {diff.high:.3g}) is not wholly on the favourable side of zero."
            )
    if analysis.treated.n_complete < SMALL_N:
        out.append(
            f"{wording}: only {analysis.treated.n_complete} treated patients have an endpoint measurement; "
            f"no claim about efficacy can rest on fewer than {SMALL_N}."
        )
    if regrowth and not analysis.higher_is_better:
        out.append(f"{wording}: a {analysis.label} measures shedding, not regrowth.")
    return out
