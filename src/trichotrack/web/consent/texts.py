"""Starting texts of the consent forms. A clinic edits them as new versions on the consent forms page."""

from .models import ConsentKind

TEXTS = {
    ConsentKind.TREATMENT: (
        "Consent to an unproven treatment: fat-derived SVF cells with platelet-rich plasma",
        "This treatment is experimental and not approved by any regulator for hair loss. Fat is removed from "
        "your abdomen by liposuction under local anaesthesia; cells (the stromal vascular fraction) are "
        "isolated from it, mixed with platelet-rich plasma made from your blood, and injected under the skin "
        "of your scalp. The published evidence is small and mostly uncontrolled; the one sizeable randomised "
        "trial found no difference between treatment and placebo across all patients. You may not benefit at "
        "all. The ISSCR does not endorse stem-cell-based interventions offered outside clinical trials.",
    ),
    ConsentKind.RESEARCH: (
        "Use of my data for research and an outcome registry",
        "With your permission, de-identified data from your record (measurements, questionnaires, adverse "
        "events) are used for research and an outcome registry, including if the treatment did not help you.",
    ),
    ConsentKind.PHOTO_CLINICAL: (
        "Photos for my clinical record",
        "Standardised photos of your scalp are taken and kept in your record to measure change over time.",
    ),
    ConsentKind.PHOTO_PUBLICATION: (
        "Photos for publication or marketing",
        "Separate from the clinical photos: your photos may be shown in publications or advertising. "
        "This is optional and does not affect your care.",
    ),
}
