"""Qualified e-signature (КЭП): GOST R 34.10-2012 / 34.11-2012 in CMS and X.509 (CPython only).

`gost` holds the arithmetic conventions, `x509` reads and builds certificates, `cms` reads and
builds detached SignedData, `verify` checks a signature against trusted roots, `testca` makes a
deterministic test CA for tests and the demo. Errors: `protocol.errors.KepError` and subclasses.
"""
