"""Collects the drive contract suite (hil/contract/suite.py) against the simulator."""

from hil.contract.suite import *  # noqa: F403 - the suite's test functions
