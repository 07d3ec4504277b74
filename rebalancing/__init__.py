"""The rebalancing's planning model and solver: trucks of some capacity move bikes from
where they piled up to the hotspots that will lack them in the morning.

Plain data in, a plan out; nothing here reads or writes the platform's database.
`demand` forecasts the morning's targets, `state` turns a city's night into sites, `city`
turns sites and trucks into a routing problem (`problem`), `distances` measures the way
between places, `solver` solves it with OR-Tools (from a `greedy` plan in big cities),
`plans` reads the plan back as each truck's stops and a summary, and `brp` reads the
public benchmark's instances. The runs, the schedule and the drivers' stops are use cases
of the platform (`rental.services.rebalancing_*`).
"""
