"""`python -m medaid` is the `medaid` command."""

from medaid.cli.main import main

main()
