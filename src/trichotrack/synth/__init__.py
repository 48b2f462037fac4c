"""Synthetic photos with exact ground truth, for tests and benchmarks."""
