"""Build the zerotier-one TEST DOUBLE .deb (see zerotier-one in this folder for what it imitates).

    python -m tests.doubles.zerotier_one.build --out DIR [--version 1.14.2]   -> prints the .deb path
"""
import argparse
import os
import sys

from tests.lab.aptrepo import make_equivs

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLES = os.path.dirname(HERE)

# zerotier/ZeroTierOne@1.14.1 debian/zerotier-one.service: same name, After/Wants, ExecStart=/usr/sbin/zerotier-one, Restart=always,
# KillMode=process, WantedBy=multi-user.target; only Description differs. (The stored ZeroTierOne snapshot has no
# 1.14.2 tag; 1.14.1 is the newest tag checked.)
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


# zerotier/ZeroTierOne@1.14.1 debian/postinst (the zerotier-one system user, then #DEBHELPER#) followed by what debian/rules
# (debian/compat 10) `dh $@ --with systemd` + `dh_systemd_start --restart-after-upgrade` add: enable the unit and start it (restart
# on upgrade). The recording saw exactly that: the package's postinst creates the user and starts the service.
POSTINST = """#!/bin/sh -e

case "$1" in
  configure)
      if ! id zerotier-one >>/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/zerotier-one --shell /usr/sbin/nologin --no-create-home zerotier-one
      fi
      ;;
esac

if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper unmask 'zerotier-one.service' >/dev/null || true
    if deb-systemd-helper --quiet was-enabled 'zerotier-one.service'; then
      deb-systemd-helper enable 'zerotier-one.service' >/dev/null || true
    else
      deb-systemd-helper update-state 'zerotier-one.service' >/dev/null || true
    fi
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then _dh_action=restart; else _dh_action=start; fi
    deb-systemd-invoke $_dh_action 'zerotier-one.service' >/dev/null || true
  fi
fi
"""

# zerotier/ZeroTierOne@1.14.1 has no debian/prerm: debhelper generates it (its autoscripts prerm-systemd: stop the unit on
# `remove`); the snippet below is that behaviour, not checked against a debhelper tag.
PRERM = """#!/bin/sh -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop 'zerotier-one.service' >/dev/null || true
fi
"""


def build(out, version="1.14.2"):
    os.makedirs(out, exist_ok=True)

    def read(*path):
        with open(os.path.join(*path), encoding="utf-8") as fh:
            return fh.read()

    # zerotier/ZeroTierOne@1.14.1 make-linux.mk install: /usr/sbin/zerotier-one, and /usr/sbin/zerotier-cli as a symlink to it (the
    # binary dispatches on argv[0]); the double ships zerotier-cli as its own script instead. The unit is installed
    # by dh_systemd into /lib/systemd/system.
    files = {
        "/usr/sbin/zerotier-one": read(HERE, "zerotier-one"),
        "/usr/sbin/zerotier-cli": read(HERE, "zerotier-cli"),
        "/usr/lib/zerotier-one-double/zerotier_api.py": read(DOUBLES, "zerotier_api.py"),
        "/usr/lib/zerotier-one-double/zerotier_node.py": read(DOUBLES, "zerotier_node.py"),
        "/lib/systemd/system/zerotier-one.service": UNIT,
        "/DEBIAN/postinst": POSTINST,
        "/DEBIAN/prerm": PRERM,
    }
    # zerotier/ZeroTierOne@1.14.1 debian/control: Package zerotier-one, Depends adduser, libstdc++6 (>= 5), openssl; the double depends on
    # what it runs with instead (python3, iproute2, passwd for useradd).
    return make_equivs(os.path.abspath(out), "zerotier-one", version, depends="python3, iproute2, passwd", arch="amd64",
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
