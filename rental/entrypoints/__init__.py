"""The platform's programs besides the HTTP API: each reads its input into commands and
hands them to the use cases in `rental.services`.

`lock_consumer` reads what locks publish on the broker (`python -m lockctl`), `rebalancing`
runs the nightly planning (`python -m rebalancing`); the HTTP API is `rental.api` (built by
`rental.app.create_app()`) and `rental.__main__` the CLI.
"""
