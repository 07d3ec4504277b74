"""The platform's programs besides the HTTP API: each reads its input into commands and
hands them to the use cases in `rental.services`."""
