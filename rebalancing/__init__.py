"""The nightly rebalancing job (to come): routes capacitated trucks that move bikes
from where they piled up to the hotspots that lack them.

Its place in the design: it reads the city's state through `rental`'s repositories
(available bikes per zone from their last positions), builds a pickup-and-delivery
problem, solves it with OR-Tools in an adapter of its own, and stores a plan that
operators see and drivers execute. It never runs inside an API request.
"""
