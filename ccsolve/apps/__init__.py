"""Applications (layer 5): the cached sweep engine (sweep.py), the CC point functions (points.py) and plots
(plots.py); the command-line programs are ccsolve.compare and ccsolve.figures."""
