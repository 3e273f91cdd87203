"""Per-file facts: the syntax-tree walker and the summariser that turns a module into position-free facts."""
