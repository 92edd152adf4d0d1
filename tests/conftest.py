"""Shared pytest setup: the project root on sys.path (tests.lab, tests.doubles) and its location."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
