"""trichotrack: records and measured outcomes for an experimental hair-loss treatment."""

__version__ = "0.1.0"
