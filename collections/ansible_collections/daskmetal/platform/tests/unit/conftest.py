"""Make `ansible_collections.daskmetal.platform` importable from the project's collections dir."""
import os
import sys

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 5))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
