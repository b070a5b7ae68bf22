"""`python -m solidcli` runs the same CLI as `solid`."""

from solidcli.cli import main

main()
