"""The repository interfaces the use cases own, one module per context."""
