"""Lock control: the MQTT protocol spoken with smart locks, and the process that
turns what locks report into state changes of the rental platform."""
