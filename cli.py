"""Run appradar from a checkout: `python cli.py …` does what the `appradar` command does."""
from scanner.cli import main

main()
