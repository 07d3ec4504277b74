"""`python -m rebalancing plan --city C [--time-limit S] [--seed N [--solutions K]]`: one
run now, waiting for it.
`python -m rebalancing nightly`: runs each city's plan at its nightly hour (local time).

The program lives with the platform that stores the plans (`rental.entrypoints.rebalancing`);
this package only plans, and imports nothing of the platform but here."""

import sys


def main(argv: list[str] | None = None) -> int:
    from rental.entrypoints.rebalancing import main as run_program

    return run_program(argv)


if __name__ == "__main__":
    sys.exit(main())
