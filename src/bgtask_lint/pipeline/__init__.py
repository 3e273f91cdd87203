"""The pipeline's stages below the run itself: naming, sources, parsing, the worker pool, loading."""
