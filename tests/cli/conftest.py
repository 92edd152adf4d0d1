"""The CLI tests import `daskmetal` from this checkout's src/ (the shared venv's editable install may point at
another checkout); the CLI runs they start set PYTHONPATH to the same folder."""
import os
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))
if SRC not in sys.path:
    sys.path.insert(0, SRC)
for name in [m for m in sys.modules if m == "daskmetal" or m.startswith("daskmetal.")]:
    del sys.modules[name]
