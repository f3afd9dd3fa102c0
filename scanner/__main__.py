"""`python -m scanner …` runs the appradar command line."""

from scanner.cli import main

main()
