"""What each use case is asked to do: one frozen dataclass per use case's input, grouped by
context. The entry points (the HTTP API, the command line) build them from what they
receive, already typed and checked against the domain's rules; a use case trusts them."""
