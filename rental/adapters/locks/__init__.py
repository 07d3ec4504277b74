"""The lock link's adapters: the wire protocol spoken with smart locks
(docs/lock-protocol.md), a small MQTT v5 client over paho, the locks' broker accounts,
and the ports the use cases need from them (sending lock commands, decoding reports).

Nothing here imports the use cases' database side: the simulator, playing the locks,
imports `protocol` and `mqtt` from here too.
"""
