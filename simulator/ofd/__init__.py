"""The simulated OFD (оператор фискальных данных): a TCP server registers report to.

    from simulator.clock import SimClock
    from simulator.ofd import OfdConfig, OfdServer, StationaryRegister

    server = OfdServer(OfdConfig(sign_algorithm="sha256"), clock=SimClock())
    port = server.start()                  # 127.0.0.1:<port>, background thread
    server.gateway.documents(fn_number)    # the OFD gateway interface (decision 10)
    server.stop()

Checks each message (session header, container, CRCs, message sign, ФП), runs the ФЛК
(code 14 with reasons), stores documents by (FN, FD) idempotently, answers with receipts
the simulated drive accepts; slow, flaky or down on the injected clock; plays the
merchant's own stationary registers. See docs/ofd.md. Imports protocol/ and simulator/
only, never firmware/ (import-linter contract).
"""

from simulator.ofd.cli import run_ofd_server
from simulator.ofd.flk import (
    FLK_CODE,
    RELATIONS,
    REQUIRED,
    VALUES,
    FlkResult,
    Problem,
    check_document,
)
from simulator.ofd.merchant import Item, StationaryRegister, rnm_for
from simulator.ofd.server import Modes, OfdServer
from simulator.ofd.service import P_VERSIONS, OfdConfig, OfdService, Outcome
from simulator.ofd.store import (
    KnownRegister,
    OfdGateway,
    OfdReceipt,
    OfdStore,
    Refusal,
    Rejection,
    StoredDocument,
)

__all__ = [
    "FLK_CODE",
    "P_VERSIONS",
    "RELATIONS",
    "REQUIRED",
    "VALUES",
    "FlkResult",
    "Item",
    "KnownRegister",
    "Modes",
    "OfdConfig",
    "OfdGateway",
    "OfdReceipt",
    "OfdServer",
    "OfdService",
    "OfdStore",
    "Outcome",
    "Problem",
    "Refusal",
    "Rejection",
    "StationaryRegister",
    "StoredDocument",
    "check_document",
    "rnm_for",
    "run_ofd_server",
]
