"""The ``vaekit`` command line: the only layer that parses arguments and prints for a user."""
