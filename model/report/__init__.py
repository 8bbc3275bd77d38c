"""Figures and their text, in Chinese and English: plots, report figures, labels and fonts."""
