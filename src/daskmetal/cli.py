"""Command-line entry point (filled in by the operations layer)."""
import sys


def main(argv=None):
    print("daskmetal: not implemented yet", file=sys.stderr)
    return 2
