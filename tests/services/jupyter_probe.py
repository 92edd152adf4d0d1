"""Run `jupyter lab ARGV` as the notebook image would, up to the point where the server would start listening, and
print the effective server settings as JSON. Used by tests/services/test_consumers.py in a subprocess (traitlets
applications are process-wide singletons, and an initialised server has a socket bind queued on its event loop).

    python tests/services/jupyter_probe.py ROOT [ARGV...]

ROOT stands for the container's `/`: the system config directories `ROOT/usr/local/etc/jupyter` and
`ROOT/etc/jupyter` replace `/usr/local/etc/jupyter` and `/etc/jupyter` (jupyter_core.paths.SYSTEM_CONFIG_PATH on
Linux). Everything else is the real code path of the `jupyter-lab` console script (jupyterlab.labapp:main =
LabApp.launch_instance): argv parsing, config file loading, notebook_shim's NotebookApp migration, the identity
provider. Only ServerApp.start is replaced, so nothing binds or serves.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    root, args = argv[0], argv[1:]
    import jupyter_core.paths

    jupyter_core.paths.SYSTEM_CONFIG_PATH = [f"{root}/usr/local/etc/jupyter", f"{root}/etc/jupyter"]

    from jupyter_server.serverapp import ServerApp
    from jupyterlab.labapp import main as jupyter_lab

    ServerApp.start = lambda self: None  # stop right before start_app()/start_ioloop()
    jupyter_lab(args)
    app = ServerApp.instance()
    idp = app.identity_provider
    print(json.dumps({
        "ip": app.ip,
        "port": app.port,
        "port_retries": app.port_retries,
        "open_browser": app.open_browser,
        "base_url": app.base_url,
        "allow_origin": app.allow_origin,
        "allow_remote_access": app.allow_remote_access,
        "root_dir": app.root_dir,
        "identity_provider": type(idp).__name__,
        "hashed_password": getattr(idp, "hashed_password", ""),
        "password_required": getattr(idp, "password_required", None),
        "token": idp.token,
        "token_generated": idp.token_generated,
        "login_available": idp.login_available,
        "loaded_config_files": app.loaded_config_files,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
