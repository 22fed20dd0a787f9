"""GOST R 34.10-2012 (256-bit) signatures over GOST R 34.11-2012 (Streebog-256) digests.

gostcrypto does the arithmetic; this module owns the byte conventions, which are easy to get
wrong and must match CryptoPro / OpenSSL gost-engine / pygost:

* Digest → integer: GOST R 34.10-2012 §6.1 step 2 takes α as the integer whose binary
  representation is the hash vector. Streebog implementations (gostcrypto, OpenSSL) emit the
  vector least significant byte first (RFC 6986's printed values are the reverse of the bytes),
  so α = int.from_bytes(digest, "little"). gostcrypto reads its ``digest`` argument big-endian,
  hence the ``[::-1]`` below (the same reversal pygost documents for its ``sign``).
* Signature octets in CMS and X.509: s || r, each 32 bytes big-endian
  (RFC 4491 §2.2.2, kept for 2012 by RFC 9215 §4). gostcrypto returns r || s.
* Public key in X.509: an OCTET STRING of 64 bytes, X then Y, each little-endian
  (RFC 4491 §2.3.2, RFC 9215 §4.3). gostcrypto takes X || Y big-endian.
* Private keys are kept here as 32 bytes big-endian (our own files; PKCS#8 not needed).

All three are pinned by the RFC 9215 Appendix A example certificate (tests/protocol/test_kep.py).
"""

from __future__ import annotations

from typing import Any, Final

import gostcrypto.gosthash as _hash
import gostcrypto.gostsignature as _sig

from protocol.errors import UnsupportedAlgorithm

__all__ = [
    "DEFAULT_PARAMSET",
    "OID_DIGEST_256",
    "OID_PUBLIC_KEY_256",
    "OID_SIGNATURE_256",
    "PARAMSETS",
    "private_key_from_seed",
    "public_key",
    "sign_digest",
    "streebog256",
    "verify_digest",
]

#: RFC 9215 §3 / TC26: id-tc26-gost3410-12-256, id-tc26-gost3411-12-256,
#: id-tc26-signwithdigest-gost3410-12-256.
OID_PUBLIC_KEY_256: Final = "1.2.643.7.1.1.1.1"
OID_DIGEST_256: Final = "1.2.643.7.1.1.2.2"
OID_SIGNATURE_256: Final = "1.2.643.7.1.1.3.2"

#: Curve parameter set OIDs (RFC 9215 §3 and the CryptoPro sets RFC 4357 §10.3 reuses) →
#: the gostcrypto curve that has the same parameters (R 1323565.1.024-2019).
PARAMSETS: Final[dict[str, str]] = {
    "1.2.643.7.1.2.1.1.1": "id-tc26-gost-3410-2012-256-paramSetA",
    "1.2.643.7.1.2.1.1.2": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.7.1.2.1.1.3": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.7.1.2.1.1.4": "id-tc26-gost-3410-2012-256-paramSetD",
    "1.2.643.2.2.35.1": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.2.2.35.2": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.2.2.35.3": "id-tc26-gost-3410-2012-256-paramSetD",
    "1.2.643.2.2.36.0": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.2.2.36.1": "id-tc26-gost-3410-2012-256-paramSetD",
}
DEFAULT_PARAMSET: Final = "1.2.643.7.1.2.1.1.1"


def _engine(paramset: str) -> Any:
    curve = PARAMSETS.get(paramset)
    if curve is None:
        raise UnsupportedAlgorithm(f"Неизвестный набор параметров ГОСТ Р 34.10-2012: {paramset}")
    return _sig.new(_sig.MODE_256, _sig.CURVES_R_1323565_1_024_2019[curve])


def _q(paramset: str) -> int:
    return int(_sig.CURVES_R_1323565_1_024_2019[PARAMSETS[paramset]]["q"])


def streebog256(data: bytes) -> bytes:
    """GOST R 34.11-2012 256-bit digest, in the usual (OpenSSL) byte order."""
    return bytes(_hash.new("streebog256", data=bytes(data)).digest())


def private_key_from_seed(seed: bytes, paramset: str = DEFAULT_PARAMSET) -> bytes:
    """A deterministic private key (1 ≤ d < q) for tests and the demo, 32 bytes big-endian."""
    d = int.from_bytes(streebog256(b"oblako-kep-key:" + seed), "big") % (_q(paramset) - 1) + 1
    return d.to_bytes(32, "big")


def public_key(private_key: bytes, paramset: str = DEFAULT_PARAMSET) -> bytes:
    """The public key as X.509 wants it: X || Y, each 32 bytes little-endian."""
    xy = bytes(_engine(paramset).public_key_generate(bytearray(private_key)))
    return xy[:32][::-1] + xy[32:][::-1]


def sign_digest(private_key: bytes, digest: bytes, paramset: str = DEFAULT_PARAMSET) -> bytes:
    """Sign a Streebog-256 digest; returns s || r (CMS/X.509 order).

    The nonce k is derived from the key and the digest (like RFC 6979's idea, simplified), so
    signatures, and thus the test CA's certificates, are reproducible.
    """
    q = _q(paramset)
    k = int.from_bytes(streebog256(b"oblako-kep-k:" + private_key + digest), "big") % (q - 1) + 1
    rs = bytes(
        _engine(paramset).sign(
            bytearray(private_key), bytearray(digest[::-1]), k.to_bytes(32, "big")
        )
    )
    return rs[32:] + rs[:32]


def verify_digest(
    public_key_le: bytes, digest: bytes, signature: bytes, paramset: str = DEFAULT_PARAMSET
) -> bool:
    """Check s || r over a digest against an X.509-order public key; never raises on bad values."""
    if len(public_key_le) != 64 or len(signature) != 64 or len(digest) != 32:
        return False
    xy = public_key_le[:32][::-1] + public_key_le[32:][::-1]
    rs = signature[32:] + signature[:32]
    try:
        return bool(_engine(paramset).verify(bytearray(xy), bytearray(digest[::-1]), bytearray(rs)))
    except _sig.GOSTSignatureError:
        return False
    except (ValueError, ZeroDivisionError, TypeError):
        # A public key off the curve can make the arithmetic fail: a bad signature, not a crash.
        return False
