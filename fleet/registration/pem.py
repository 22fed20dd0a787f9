"""PEM armour (RFC 7468) around the DER of certificates and CRLs."""

from __future__ import annotations

import base64
import re


def der_blocks(raw: bytes, label: bytes) -> list[bytes]:
    """The DER inside every PEM block of that label (RFC 7468), or `raw` itself as one DER."""
    pattern = rb"-----BEGIN " + label + rb"-----(.+?)-----END " + label + rb"-----"
    pems = re.findall(pattern, raw, re.S)
    if not pems:
        return [raw]
    return [base64.b64decode(b"".join(p.split())) for p in pems]
