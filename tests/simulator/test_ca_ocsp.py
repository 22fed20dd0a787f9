"""The test CA's responder never fails on what it is sent: any bytes get an OCSP response."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.kep import ocsp
from protocol.kep.testca import TestCa
from simulator.ca import OcspResponder

RESPONDER = OcspResponder(ca=TestCa(), clock=lambda: 1_705_303_800.0)
REQUEST = ocsp.build_request([ocsp.CertId.for_issuer(RESPONDER.ca.info, 42)], b"nonce-16-bytes!!")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_request_bytes_get_an_ocsp_response(data: st.DataObject) -> None:
    raw = bytearray(REQUEST)
    for _ in range(data.draw(st.integers(0, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))] + data.draw(st.binary(max_size=8))
    answer = ocsp.parse_response(RESPONDER.answer(bytes(raw)))
    assert answer.status in ("successful", "malformedRequest")
    if answer.status == "successful":
        assert answer.signed_by(RESPONDER.ca.info)


def test_the_untouched_request_is_answered_good_with_the_nonce() -> None:
    answer = ocsp.parse_response(RESPONDER.answer(REQUEST))
    assert answer.nonce == b"nonce-16-bytes!!"
    assert [r.status for r in answer.responses] == [ocsp.GOOD]
    assert answer.responses[0].next_update == 1_705_303_800.0 + RESPONDER.next_update_s
