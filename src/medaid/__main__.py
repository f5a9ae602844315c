"""`python -m medaid` is the `medaid` command."""

from medaid.cli import main

main()
