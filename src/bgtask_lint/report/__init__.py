"""Reports: the output formats and their renderers."""
