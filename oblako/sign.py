"""`oblako sign`: sign a file with a test key (demo and tests), make a test CA's files, and
revoke a test certificate (for the test CA's OCSP responder, `oblako sim ca`).

Key files hold the private key as hex (32 bytes big-endian, see protocol.kep.gost); certificate
files are DER. Only for the test CA: a user's real key never leaves their own signing tool.
The revocation list of a test CA directory is ``revoked.json`` (what `oblako sim ca --dir`
answers from).
"""

from __future__ import annotations

import time
from pathlib import Path

from protocol.kep.cms import build_detached
from protocol.kep.testca import TestCa
from protocol.kep.x509 import read_certificate
from simulator.ca import revoke_in_file

__all__ = ["REVOKED_FILE", "make_test_ca", "read_key", "revoke", "sign_file"]

#: the revocation list in a test CA directory
REVOKED_FILE = "revoked.json"


def read_key(key_file: str | Path) -> bytes:
    """A key file's 32 key bytes."""
    key = bytes.fromhex(Path(key_file).read_text(encoding="ascii").strip())
    if len(key) != 32:
        raise ValueError(f"{key_file}: ожидается ключ из 32 байт в hex")
    return key


def sign_file(
    path: str | Path, key_file: str | Path, cert_file: str | Path, at: float | None = None
) -> bytes:
    """A detached CMS (DER, a .p7s file's bytes) over the file at `path`."""
    return build_detached(
        Path(path).read_bytes(),
        Path(cert_file).read_bytes(),
        read_key(key_file),
        time.time() if at is None else at,
    )


def make_test_ca(
    dir: str | Path,
    inn: str,
    ogrn: str,
    name: str,
    *,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
) -> dict[str, Path]:
    """Write ca.cer (the root to trust), signer.cer and signer.key for an organisation; the
    signer's certificate names ``ocsp_url`` (AIA) and ``crl_url`` (CRL distribution point)."""
    out = Path(dir)
    out.mkdir(parents=True, exist_ok=True)
    ca = TestCa()
    issued = ca.issue_org(
        inn=inn,
        ogrn=ogrn,
        name=name,
        ocsp_urls=(ocsp_url,) if ocsp_url else (),
        crl_urls=(crl_url,) if crl_url else (),
    )
    paths = {"ca": out / "ca.cer", "cert": out / "signer.cer", "key": out / "signer.key"}
    paths["ca"].write_bytes(ca.cert)
    paths["cert"].write_bytes(issued.cert)
    paths["key"].write_text(issued.key.hex() + "\n", encoding="ascii")
    paths["key"].chmod(0o600)
    return paths


def revoke(ca_dir: str | Path, cert_file: str | Path, reason: int | None = None) -> int:
    """Put the certificate in ``cert_file`` on the revocation list of the test CA directory
    ``ca_dir`` (revoked now); returns its serial number."""
    serial = read_certificate(Path(cert_file).read_bytes()).serial
    revoke_in_file(Path(ca_dir) / REVOKED_FILE, serial, time.time(), reason)
    return serial
