"""One module per CLI command; each exposes `run(params, ...) -> list of paths written`."""
