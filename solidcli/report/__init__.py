"""Reporting: the paper's tables, the claims and their verdicts, the figures, and the README's
verdict block, built from the evaluated runs' metrics."""
