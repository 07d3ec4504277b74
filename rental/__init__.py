"""The rental platform: riders, assets, trips and money behind a JSON API.

`rental.domain` is plain Python; `rental.adapters` talk to PostgreSQL and the broker;
`rental.services` are the use cases; `rental.api` is the Flask entry point built by
`rental.app.create_app()`.
"""
