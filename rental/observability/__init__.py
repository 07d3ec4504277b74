"""Watching the platform with the field's tools: Prometheus metrics (prometheus-client),
JSON logs (structlog), for the API, lockctl and the nightly job (docs/operations.md).

The entry points set these up; the domain and the use cases know nothing of them (the
use cases announce what happened through `rental.services.signals`)."""
