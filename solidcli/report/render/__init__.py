"""One renderer per format (markdown, LaTeX, CSV) of a paper `Table` and a study `Grid`; what a
comparison adds to a cell comes from its `report.comparisons.Comparison`."""
