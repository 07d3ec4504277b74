"""The nightly rebalancing job: routes capacitated trucks that move bikes from where they
piled up to the hotspots that will lack them in the morning.

`city` and `state` turn a city's night into a routing problem (`problem`), `solver`
solves it with OR-Tools, `job` runs it for a city and stores the plan, `execution`
follows the drivers stop by stop, `demand` forecasts the morning's targets.
"""
