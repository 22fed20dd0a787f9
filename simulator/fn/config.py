"""Settings of one simulated drive: identity, capacity, lifetime, time rules, keys.

Every number a test may want to shrink (archive size, expiry, the OFD 30-day block) is a
setting, so exhaustion and expiry can be reached in seconds. Defaults say where they come
from: [V] read in the FNS protocol via the reference, [2nd] secondary sources, [R]
recalled and unverified, [rec] our choice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

from protocol.fiscalsign import Algorithm
from protocol.fn.codes import Phase
from simulator.fn.errors import ConfigError

__all__ = ["DEV_FP_SECRET", "DEV_OFD_SECRET", "DriveConfig"]

#: Development secrets (not credentials: the simulated keys are public by design). The
#: OFD simulator and the fleet use the same values to verify ФП and to sign receipts.
DEV_FP_SECRET: Final = b"oblako-simulated-drive/fp-secret/v1"
DEV_OFD_SECRET: Final = b"oblako-simulated-drive/ofd-secret/v1"


@dataclass(frozen=True)
class DriveConfig:
    """Everything fixed about one simulated drive (its state lives in `DriveState`)."""

    # §3.3 [V]: 16 ASCII digits; 9999078... is the development/МГМ drive prefix.
    fn_number: str = "9999078900000001"
    # 33h: 16 ASCII characters of firmware version [V]; the text is ours.
    version: str = "oblako-sim 1.2"
    # 33h software type: a debug build (0) also accepts 60h reset (§1.6) [V].
    debug_build: bool = False
    # 3Ah: the highest FFD the drive supports (4 = 1.2) [2nd].
    ffd_max: int = 4
    # DATE_TIME carries no zone (§1.5): the drive's local time is UTC + this offset [rec].
    utc_offset: dt.timedelta = dt.timedelta(hours=3)
    # "clock": after power-on the drive's timer starts at the clock's wall time, so the
    # first document already gets the ±5 min check (17h); "first_document": the first
    # dated command after power-on sets the timer unchecked [rec].
    time_anchor: Literal["clock", "first_document"] = "clock"
    # §1.8 [V]: 17h when the time step differs from the drive's timer by more than 5 min.
    max_time_drift: dt.timedelta = dt.timedelta(minutes=5)
    # §1.6 15h [V]: shift at most 24 h (16h).
    max_shift: dt.timedelta = dt.timedelta(hours=24)
    # Archive size in documents [R: real ФН-1.1 archives hold ~250 000]; 90 % raises the
    # memory warning (§1.5 table 9) [V]. Two places stay reserved for closing the shift
    # and the fiscal mode [rec].
    archive_capacity: int = 250_000
    # Storage for documents not yet confirmed by the OFD, bytes (14h) [2nd S4: 1024 KiB].
    ofd_storage_bytes: int = 1024 * 1024
    # Validity end (32h). None: registration date + lifetime_days [R: 15-month drive].
    expires_on: dt.date | None = None
    lifetime_days: int = 456
    # 15h [V §1.4]: oldest unconfirmed document older than this blocks new receipts.
    ofd_block: dt.timedelta = dt.timedelta(days=30)
    # Warning flag 3 "OFD answer overdue" [2nd S5 on tag 1053: "более двух дней"].
    ofd_warning: dt.timedelta = dt.timedelta(days=2)
    # §4.5 [V] S2: the drive waits 300 s for a receipt after a message was read.
    ofd_receipt_timeout: float = 300.0
    # 32h: re-registrations allowed [R].
    max_reregistrations: int = 30
    # Fiscal sign keys (protocol.fiscalsign): derived from these secrets and fn_number.
    fp_secret: bytes = DEV_FP_SECRET
    ofd_secret: bytes = DEV_OFD_SECRET
    sign_algorithm: Algorithm = "streebog256"
    # A request frame with a bad CRC: "answer" 01h (the default: the register learns at
    # once that nothing was executed) or "ignore" it (§1.2: real behaviour unspecified).
    bad_crc: Literal["answer", "ignore"] = "answer"
    # A partial frame older than this (drive timer) is discarded, so ENQ works after a
    # lost byte [rec]; below S6's shortest observed 300 ms command time-out (§1.10).
    idle_timeout: float = 0.2
    # Phase of a factory-fresh drive: READY as shipped, or SETUP (completed by the first
    # 02h/A2h, as S4 does [2nd]).
    initial_phase: Phase = Phase.READY
    # FN-1.2 marking [2nd S4]: checked-code table size, notification storage (count).
    marking_table_size: int = 128
    notification_capacity: int = 1000
    # Tags the simulator refuses in 07h because the drive forms them itself (0Bh) [rec].
    refuse_drive_tags: bool = True

    def __post_init__(self) -> None:
        """Check the settings; a bad one raises ConfigError."""
        if len(self.fn_number) != 16 or not self.fn_number.isdigit():
            raise ConfigError(f"fn_number must be 16 digits, got {self.fn_number!r}")
        if len(self.version) > 16 or any(not 0x20 <= ord(c) < 0x7F for c in self.version):
            raise ConfigError(f"version must be at most 16 printable ASCII: {self.version!r}")
        if self.ffd_max not in (2, 3, 4):
            raise ConfigError(f"ffd_max must be 2, 3 or 4, got {self.ffd_max}")
        positive = {
            "archive_capacity": self.archive_capacity,
            "ofd_storage_bytes": self.ofd_storage_bytes,
            "lifetime_days": self.lifetime_days,
            "marking_table_size": self.marking_table_size,
            "notification_capacity": self.notification_capacity,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{name} must be positive, got {value}")
        if self.max_reregistrations < 0:
            raise ConfigError("max_reregistrations must not be negative")
        if self.idle_timeout <= 0 or self.ofd_receipt_timeout <= 0:
            raise ConfigError("idle_timeout and ofd_receipt_timeout must be positive")
        if self.initial_phase not in (Phase.SETUP, Phase.READY):
            raise ConfigError("initial_phase must be SETUP or READY")
        if self.sign_algorithm not in ("streebog256", "sha256"):
            raise ConfigError(f"unknown sign_algorithm {self.sign_algorithm!r}")
        if not self.fp_secret or not self.ofd_secret:
            raise ConfigError("fp_secret and ofd_secret must not be empty")
