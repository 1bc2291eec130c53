"""`python -m digiden` is the same as the `digiden` command."""

from digiden.cli import main

main()
