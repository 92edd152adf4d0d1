"""Build the zerotier-one TEST DOUBLE .deb (see zerotier-one in this folder for what it imitates).

    python -m tests.doubles.zerotier_one.build --out DIR [--version 1.14.2]   -> prints the .deb path
"""
import argparse
import os
import sys

from tests.lab.aptrepo import make_equivs

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLES = os.path.dirname(HERE)

# The upstream unit (ZeroTierOne debian/zerotier-one.service): same name and ExecStart.
UNIT = """[Unit]
Description=ZeroTier One (daskmetal lab test double)
After=network-online.target network.target
Wants=network-online.target

[Service]
ExecStart=/usr/sbin/zerotier-one
Restart=always
KillMode=process

[Install]
WantedBy=multi-user.target
"""


def build(out, version="1.14.2"):
    os.makedirs(out, exist_ok=True)

    def read(*path):
        with open(os.path.join(*path), encoding="utf-8") as fh:
            return fh.read()

    files = {
        "/usr/sbin/zerotier-one": read(HERE, "zerotier-one"),
        "/usr/sbin/zerotier-cli": read(HERE, "zerotier-cli"),
        "/usr/lib/zerotier-one-double/zerotier_api.py": read(DOUBLES, "zerotier_api.py"),
        "/lib/systemd/system/zerotier-one.service": UNIT,
    }
    return make_equivs(os.path.abspath(out), "zerotier-one", version, depends="python3, iproute2", arch="amd64",
                       description="ZeroTier One TEST DOUBLE (daskmetal lab; not ZeroTier)", files=files)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", default="1.14.2")
    args = ap.parse_args(argv)
    print(build(args.out, args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
