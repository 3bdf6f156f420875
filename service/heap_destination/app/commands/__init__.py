"""The command line's subcommands besides serve, run and simulate."""
