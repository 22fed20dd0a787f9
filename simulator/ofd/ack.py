"""The OFD's receipt (квитанция): document 7 «Подтверждение оператора» in an FN container.

The same bytes as the reference the simulated drive is tested with (simulator/fn/receipts.py
``build_receipt``; tests/simulator/test_ofd_ack.py checks byte equality), built for the
OFD's hot path: the struct codec (protocol/tlvfast.py) instead of the construct spec, and
the fields encoded once — the signed body is the unsigned one plus 1078, because the ФПО
covers the document without its 1078 (protocol/fiscalsign.py ``ofd_canonical_bytes``).

Fields (§4.4): 1017 OFD INN, 1041 FN number, 1040 the confirmed FD, 1012 time, 1068 {1022
answer code}, then 1078 the ФПО under the drive's "ofd" key.
"""

from __future__ import annotations

import datetime as dt
from struct import Struct
from typing import Final

from protocol import fiscalsign
from protocol.tlvfast import encode
from protocol.tree import Field
from simulator.fn.documents import local_unixtime
from simulator.fn.receipts import OPERATOR_ACK, build_container_raw

__all__ = ["operator_ack"]

_HEADER: Final = Struct("<HH")


def operator_ack(
    fn_number: str,
    fd: int,
    when: dt.datetime,
    *,
    key: bytes,
    answer_code: int,
    ofd_inn: str,
    algorithm: fiscalsign.Algorithm,
) -> bytes:
    """The receipt container for document ``fd`` of drive ``fn_number`` (a 26h argument).

    ``key`` is the drive's "ofd" key (``fiscalsign.derive_key(secret, fn_number, "ofd")``),
    ``when`` naive local time (what 1012 encodes), ``answer_code`` 1022.
    """
    body = encode(
        (
            Field(1017, ofd_inn),
            Field(1041, fn_number),
            Field(1040, fd),
            Field(1012, local_unixtime(when)),
            Field(1068, (Field(1022, answer_code),)),
        )
    )
    sign = fiscalsign.compute_ofd_fp(key, _HEADER.pack(OPERATOR_ACK, len(body)) + body, algorithm)
    body += encode((Field(fiscalsign.OFD_FP_TAG, sign),))
    return build_container_raw(
        OPERATOR_ACK, fn_number, fd, _HEADER.pack(OPERATOR_ACK, len(body)) + body
    )
