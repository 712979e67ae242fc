"""For researchers: item statistics, reliability and prevalence of a dataset (analysis.py) from
the formulas in psychometrics.py."""
