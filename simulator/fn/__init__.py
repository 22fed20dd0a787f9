"""A faithful simulated fiscal drive (ФН): the oracle the register runtime is tested against.

    from simulator.clock import SimClock
    from simulator.fn import DriveConfig, DriveModel, inproc_pair

    clock = SimClock()
    drive = DriveModel(DriveConfig(fn_number="9999078900000001"), clock=clock,
                       state_file="var/fn.json")
    port, endpoint = inproc_pair(drive, timeout=1.0)     # port.write / port.readinto

See docs/simulator.md. Imports protocol/ only, never firmware/ (import-linter contract).
"""

from simulator.fn.config import DEV_FP_SECRET, DEV_OFD_SECRET, DriveConfig
from simulator.fn.errors import (
    CommandRefusedError,
    ConfigError,
    LinkError,
    PoweredOffError,
    SimulatorError,
    StateFileError,
)
from simulator.fn.faults import Fault, FaultKind, FaultPlan, Noise
from simulator.fn.links import (
    DriveEndpoint,
    DrivePort,
    PtyServer,
    TcpServer,
    inproc_pair,
    serve_pty,
    serve_tcp,
)
from simulator.fn.model import DriveModel
from simulator.fn.receipts import build_notification_receipt, build_receipt
from simulator.fn.state import ArchivedDocument, DriveState, StateStore
from simulator.fn.timing import DEFAULT_LATENCIES, LinkTiming

__all__ = [
    "DEFAULT_LATENCIES",
    "DEV_FP_SECRET",
    "DEV_OFD_SECRET",
    "ArchivedDocument",
    "CommandRefusedError",
    "ConfigError",
    "DriveConfig",
    "DriveEndpoint",
    "DriveModel",
    "DrivePort",
    "DriveState",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "LinkError",
    "LinkTiming",
    "Noise",
    "PoweredOffError",
    "PtyServer",
    "SimulatorError",
    "StateFileError",
    "StateStore",
    "TcpServer",
    "build_notification_receipt",
    "build_receipt",
    "inproc_pair",
    "serve_pty",
    "serve_tcp",
]
