"""A build's default bounds, read by the command line (cli.py) and by the watcher that enforces
them (watcher.py), which loads nothing else of chapbook's before it forks."""

DEFAULT_TIMEOUT_S = 900
DEFAULT_MEMORY_MIB = 6144
