"""Virtual smart locks that speak the lock protocol (1.1) exactly as firmware must."""
