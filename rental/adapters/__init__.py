"""Adapters at the edges: PostgreSQL/PostGIS persistence, the lock command channel."""
