"""Entry points: what turns the outside world's input into commands for the use cases.

`rental.api` is the HTTP one (built by `rental.app.create_app()`), `lock_consumer` reads
what locks publish on the broker (`python -m lockctl`), and `rental.__main__` is the CLI.
"""
