"""Pure measurement core: arrays in, frozen dataclasses out. No Django, no printing, no file access
outside `trichotrack.measure.io`."""
