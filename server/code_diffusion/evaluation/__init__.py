"""Infill quality of a model, measured: benchmarks, task files and reports."""
