"""The domain core: plain dataclasses and functions, no I/O and no frameworks."""
