"""`oblako bench ofd` (bench/ofd_service.py): each variant runs the service as it says and
puts the code back afterwards; the figures come out for every variant and codec."""

from __future__ import annotations

from bench.ofd_service import VARIANTS, measure, report, variant
from protocol import tlv, tlvfast
from simulator.ofd import flk, service
from simulator.ofd.ack import operator_ack
from simulator.ofd.service import OfdConfig


def test_variants_swap_the_pieces_and_restore_them() -> None:
    config = OfdConfig(sign_algorithm="sha256")
    with variant("construct", config):
        assert vars(flk)["decode"] is tlv.decode
        assert vars(service)["operator_ack"] is not operator_ack
    with variant("decode", config):
        assert vars(flk)["decode"] is tlvfast.decode
    with variant("receipt", config):
        assert vars(flk)["decode"] is tlv.decode
        assert vars(service)["operator_ack"] is operator_ack
    assert vars(flk)["decode"] is tlvfast.decode
    assert vars(service)["operator_ack"] is operator_ack


def test_measure_reports_every_variant_and_codec() -> None:
    figures = measure(receipts=3, items=2, rounds=2, codec_seconds=0.01)
    assert figures.documents == 5
    assert all(len(figures.service_ms[v]) == 2 for v in VARIANTS)
    rows = report(figures)
    assert len(rows) == len(VARIANTS) + 6
    assert rows[0][3] == "1.00"
