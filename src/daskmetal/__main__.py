"""`python -m daskmetal` is the same as the `daskmetal` command."""
import sys

from .cli import main

sys.exit(main())
