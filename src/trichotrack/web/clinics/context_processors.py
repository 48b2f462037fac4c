def membership(request):
    m = getattr(request, "membership", None)
    return {
        "membership": m,
        "can_write": bool(m and m.is_staff_role),
        "can_identify": bool(m and m.can_identify),
        "is_clinician": bool(m and m.is_clinician),
    }
