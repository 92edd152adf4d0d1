# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""What an apt repository keyring holds, read from ``gpg --show-keys --with-colons`` output.

apt trusts every key of a ``Signed-By`` keyring, so a downloaded keyring is acceptable only when its primary keys
are exactly the pinned ones: a keyring that carries the pinned key *and* another key lets whoever holds the other
key sign the repository. Pure Python, no I/O; used by the ``apt_keyring_problems`` filter (roles docker and
zerotier).

The colon format is GnuPG's doc/DETAILS (gnupg 2.2/2.4): one record per line, fields separated by ``:``; field 1
is the record type, field 10 of an ``fpr`` record the fingerprint. A ``pub`` (public primary key) or ``sec``
(secret primary key) record starts a key; ``sub``/``ssb`` start its subkeys; an ``fpr`` record belongs to the
key or subkey record right before it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

PRIMARY = ("pub", "sec")
SUBKEY = ("sub", "ssb")
SECRET = ("sec", "ssb")


def normalize_fingerprint(value):
    """'9DC8 5822 ...' or lower case -> '9DC85822...'."""
    return "".join(str(value).split()).upper()


def parse_keys(colons):
    """Return one dict per primary key: {fingerprint, secret, subkeys: [fingerprint...], uids: [str...]}.

    Raises ValueError for an fpr record with no key before it (the input is not gpg's colon listing)."""
    keys = []
    current = None   # the record an fpr line belongs to: ('primary', key) or ('sub', key)
    for line in str(colons).splitlines():
        fields = line.split(":")
        kind = fields[0]
        if kind in PRIMARY:
            key = {"fingerprint": "", "secret": kind in SECRET, "subkeys": [], "uids": []}
            keys.append(key)
            current = ("primary", key)
        elif kind in SUBKEY:
            if not keys:
                raise ValueError("a subkey record comes before any primary key")
            keys[-1]["secret"] = keys[-1]["secret"] or kind in SECRET
            current = ("sub", keys[-1])
        elif kind == "fpr":
            if current is None or len(fields) < 10:
                raise ValueError("a fingerprint record comes before any key record")
            where, key = current
            fpr = normalize_fingerprint(fields[9])
            if where == "primary":
                key["fingerprint"] = fpr
            else:
                key["subkeys"].append(fpr)
            current = None
        elif kind == "uid" and keys and len(fields) > 9:
            keys[-1]["uids"].append(fields[9])
    return keys


def primary_fingerprints(colons):
    """The primary fingerprints of a keyring, in file order."""
    return [key["fingerprint"] for key in parse_keys(colons)]


def keyring_problems(colons, expected):
    """What makes this keyring unacceptable for a repository pinned to ``expected`` (a fingerprint or a list).

    Returns a list of messages; empty means the keyring's primary keys are exactly the expected ones, and none is
    secret key material."""
    wanted = [expected] if isinstance(expected, str) else list(expected or [])
    wanted = sorted({normalize_fingerprint(fpr) for fpr in wanted})
    if not wanted or any(len(fpr) != 40 for fpr in wanted):
        return ["the pinned fingerprint must be 40 hexadecimal characters"]
    try:
        keys = parse_keys(colons)
    except ValueError as exc:
        return ["the key listing is not gpg's colon format: %s" % exc]
    if not keys:
        return ["the file holds no OpenPGP key"]
    found = [key["fingerprint"] for key in keys]
    problems = []
    missing = [fpr for fpr in wanted if fpr not in found]
    if missing:
        subkeys = [fpr for fpr in missing if any(fpr in key["subkeys"] for key in keys)]
        problems.append("the pinned key %s is not a primary key of the file%s" % (
            ", ".join(missing), " (it is a subkey there)" if subkeys else ""))
    extra = [fpr for fpr in found if fpr not in wanted]
    if extra:
        problems.append("the file holds other keys besides the pinned one: %s (apt would trust them all)"
                        % ", ".join(fpr or "(no fingerprint)" for fpr in extra))
    if len(found) != len(set(found)):
        problems.append("the file holds the same key more than once")
    if any(key["secret"] for key in keys):
        problems.append("the file holds secret key material")
    return problems
