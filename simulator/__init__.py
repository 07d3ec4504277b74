"""Virtual smart locks that speak the lock protocol v1 exactly as firmware must."""
