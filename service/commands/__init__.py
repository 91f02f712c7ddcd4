"""Sub-commands of `tagungsbot` that have their own module (cli.py registers them)."""
