"""`oblako sign`: a test CA, a detached GOST signature, verified by protocol/kep."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oblako.cli import app
from protocol.errors import BadSignature
from protocol.kep.verify import verify

runner = CliRunner()


def test_make_a_test_ca_sign_and_verify(tmp_path: Path) -> None:
    made = runner.invoke(
        app,
        ["sign", "x", "--key", "k", "--cert", "c", "--make-test-ca", str(tmp_path / "ca"),
         "--inn", "7707083893", "--ogrn", "1027700132195", "--name", "ПАО «Тест»"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    doc = tmp_path / "application.json"
    doc.write_bytes(b'{"format":"oblako.knd1110061.v1"}')
    ca = tmp_path / "ca"
    signed = runner.invoke(
        app, ["sign", str(doc), "--key", str(ca / "signer.key"), "--cert", str(ca / "signer.cer")]
    )
    assert signed.exit_code == 0, signed.output
    sig = (tmp_path / "application.json.sig").read_bytes()
    root = (ca / "ca.cer").read_bytes()
    checked = verify(sig, doc.read_bytes(), [root], time.time())
    assert "Тест" in checked.name
    with pytest.raises(BadSignature):
        verify(sig, doc.read_bytes() + b" ", [root], time.time())
    missing = runner.invoke(app, ["sign", str(doc), "--key", "nope", "--cert", "nope"])
    assert missing.exit_code != 0
