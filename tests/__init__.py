"""p2pchat's tests. A package so that `tests.support` is importable wherever the repository is on sys.path."""
