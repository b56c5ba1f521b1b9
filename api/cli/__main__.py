"""`python -m api.cli`: the same command without the console script, as tests and benchmarks start it."""

from api.cli import main

main()
