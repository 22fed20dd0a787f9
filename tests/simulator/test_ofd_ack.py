"""The OFD simulator's receipt (simulator/ofd/ack.py) is byte for byte the reference the
simulated drive accepts with 26h (simulator/fn/receipts.py build_receipt)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import fiscalsign
from simulator.fn.receipts import build_receipt
from simulator.ofd.ack import operator_ack

fns = st.text("0123456789", min_size=16, max_size=16)
times = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2105, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0)
)
inns = st.sampled_from(["7704358518", "770435851800", "1234567890  "])


@settings(max_examples=200, deadline=None)
@given(
    fn=fns,
    fd=st.integers(0, 2**24 - 1),
    when=times,
    code=st.integers(0, 255),
    inn=inns,
    secret=st.binary(min_size=1, max_size=40),
    algorithm=st.sampled_from(["sha256", "sha256", "streebog256"]),
)
def test_operator_ack_is_the_reference_receipt(
    fn: str,
    fd: int,
    when: dt.datetime,
    code: int,
    inn: str,
    secret: bytes,
    algorithm: fiscalsign.Algorithm,
) -> None:
    key = fiscalsign.derive_key(secret, fn, "ofd", algorithm)
    mine = operator_ack(fn, fd, when, key=key, answer_code=code, ofd_inn=inn, algorithm=algorithm)
    reference = build_receipt(
        fn, fd, when, ofd_secret=secret, answer_code=code, ofd_inn=inn, algorithm=algorithm
    )
    assert mine == reference
