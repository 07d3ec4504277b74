"""`python -m lockctl`, the name the lock consumer is started by (see `__main__`).

The lock link itself lives in the platform: the wire protocol, the MQTT client and the
broker accounts in `rental.adapters.locks`, the consumer in
`rental.entrypoints.lock_consumer`. Nothing imports this package.
"""
