"""A simulated accredited CA's online services: the OCSP responder and the CRL (test CA)."""

from simulator.ca.ocsp import (
    CaServer,
    OcspFaults,
    OcspResponder,
    create_app,
    revoke_in_file,
    run_ca,
)

__all__ = ["CaServer", "OcspFaults", "OcspResponder", "create_app", "revoke_in_file", "run_ca"]
