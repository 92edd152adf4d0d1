"""Shared helpers: start the ZeroTier HTTP double, run a module's main() in process."""
import io
import json
import os
import sys
from contextlib import redirect_stdout

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.doubles.zerotier_api import ZeroTierDouble  # noqa: E402


def run_module(main, args, check_mode=False, diff=False):
    """Run an Ansible module's main() with args; return its JSON result (failed results included)."""
    from ansible.module_utils.testing import patch_module_args

    args = dict(args)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff
    buf = io.StringIO()
    with patch_module_args(args), redirect_stdout(buf):
        try:
            main()
        except SystemExit:
            pass
    out = buf.getvalue()
    return json.loads(out[out.index("{"):])


__all__ = ["ZeroTierDouble", "run_module", "ROOT"]
