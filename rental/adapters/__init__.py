"""Adapters at the edges: PostgreSQL/PostGIS persistence, the payment gateway, and the
lock link (`locks`: the wire protocol, MQTT, broker accounts, lock commands and reports)."""
