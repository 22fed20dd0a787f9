"""The MQTT link contract on CPython: JSON Schemas of every payload and a validating codec.

The topic tree, limits and the register's own checks are portable (protocol/portable/link.py).
"""
