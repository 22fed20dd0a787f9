"""`oblako sign`: sign a file with a test key (demo and tests), and make a test CA's files.

Key files hold the private key as hex (32 bytes big-endian, see protocol.kep.gost); certificate
files are DER. Only for the test CA: a user's real key never leaves their own signing tool.
"""

from __future__ import annotations

import time
from pathlib import Path

from protocol.kep.cms import build_detached
from protocol.kep.testca import TestCa

__all__ = ["make_test_ca", "read_key", "sign_file"]


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


def make_test_ca(dir: str | Path, inn: str, ogrn: str, name: str) -> dict[str, Path]:
    """Write ca.cer (the root to trust), signer.cer and signer.key for an organisation."""
    out = Path(dir)
    out.mkdir(parents=True, exist_ok=True)
    ca = TestCa()
    issued = ca.issue_org(inn=inn, ogrn=ogrn, name=name)
    paths = {"ca": out / "ca.cer", "cert": out / "signer.cer", "key": out / "signer.key"}
    paths["ca"].write_bytes(ca.cert)
    paths["cert"].write_bytes(issued.cert)
    paths["key"].write_text(issued.key.hex() + "\n", encoding="ascii")
    paths["key"].chmod(0o600)
    return paths
