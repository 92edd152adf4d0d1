"""A zerotier-one TEST DOUBLE packaged as a .deb for the lab (see build.py and README in zerotier-one)."""
