"""Figures and their text, in Chinese and English: plots, report figures, labels and fonts."""

FORMATS = ("png", "pdf", "svg")
"""File formats the report figures can be written in."""
