"""The simulator's answer framing (simulator/fn/model.py pack_frame) against the spec's
construct declaration (protocol/fn/frame.py build_frame): the same bytes, the same refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import FrameFormatError
from protocol.fn.frame import MAX_DATA, build_frame, parse_frame
from simulator.fn.model import pack_frame


@given(st.integers(0, 0xFF), st.binary(max_size=MAX_DATA))
def test_pack_frame_is_the_spec_frame(code: int, data: bytes) -> None:
    raw = pack_frame(code, data)
    assert raw == build_frame(code, data)
    parsed = parse_frame(raw)
    assert (parsed.code, parsed.data) == (code, data)


@pytest.mark.parametrize(("code", "data"), [(-1, b""), (256, b""), (0, bytes(MAX_DATA + 1))])
def test_pack_frame_refuses_what_the_spec_refuses(code: int, data: bytes) -> None:
    with pytest.raises(FrameFormatError) as ours:
        pack_frame(code, data)
    with pytest.raises(FrameFormatError) as spec:
        build_frame(code, data)
    assert str(ours.value) == str(spec.value)
