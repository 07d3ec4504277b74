"""`python -m lockctl`: consume lock reports until interrupted.

A shim kept for deployments and scripts that start lockctl by this name; the consumer is
`rental.entrypoints.lock_consumer`."""

from rental.entrypoints.lock_consumer import main

if __name__ == "__main__":
    main()
