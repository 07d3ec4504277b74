"""The HTTP entry point: thin handlers that parse, call a use case, and render JSON."""
