"""What checking a КЭП certificate's status adds to accepting a signature (issue 7, OCSP).

`python -m bench.kep_status [--runs 5] [--n 20]`: the medians over ``runs`` of the mean time of
``n`` operations, each against the same run's baseline, the signature's own check
(`protocol.kep.verify.verify`: CMS digest, signer's signature, chain):

* ``ocsp``: a fresh OCSP exchange over real HTTP with the test CA's responder (`simulator/ca`
  in a thread of this process: its GOST signing is counted too, as a real CA's would be
  elsewhere), the answer's signature, nonce, CertID and freshness checked;
* ``ocsp cached``: the same with the good answer held until its nextUpdate;
* ``crl``: the fallback with the CA's list already fetched (a lookup and the list's signature).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from fleet.registration.crl_cache import CrlCache
from fleet.registration.ocsp import OcspClient, RevocationChecker
from protocol.kep.testca import TestCa
from protocol.kep.verify import verify
from simulator.ca import CaServer, OcspResponder

__all__ = ["main", "measure"]


def _mean_s(op: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        op()
    return (time.perf_counter() - start) / n


def measure(runs: int = 5, n: int = 20) -> dict[str, float]:
    """Median seconds per operation of each kind."""
    ca = TestCa()
    at = time.time()
    server = CaServer(OcspResponder(ca=ca)).start()
    try:
        signer = ca.issue_org(
            inn="7702203276",
            ogrn="1027700132195",
            name="ООО «Ромашка»",
            ocsp_urls=(server.ocsp_url,),
            crl_urls=(server.crl_url,),
        )
        detached = signer.sign(b"application", at)
        verified = verify(detached, b"application", [ca.cert], at)
        cached = RevocationChecker(ocsp_client=OcspClient(), crls=CrlCache())
        crl_only = RevocationChecker(crls=CrlCache(), mode="crl")
        cached.check(verified, at)
        crl_only.check(verified, at)
        kinds: dict[str, Callable[[], object]] = {
            "verify (baseline)": lambda: verify(detached, b"application", [ca.cert], at),
            "ocsp": lambda: RevocationChecker(ocsp_client=OcspClient(), crls=CrlCache()).check(
                verified, at
            ),
            "ocsp cached": lambda: cached.check(verified, at),
            "crl": lambda: crl_only.check(verified, at),
        }
        samples: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(runs):
            for kind, op in kinds.items():
                samples[kind].append(_mean_s(op, n))
        return {k: statistics.median(v) for k, v in samples.items()}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as f:
        load = f.read().split()[:3]
    result = measure(args.runs, args.n)
    base = result["verify (baseline)"]
    print(f"load average {' '.join(load)}; median of {args.runs} runs × {args.n}")
    for kind, seconds in result.items():
        print(f"{kind:18} {seconds * 1000:8.2f} ms  ({seconds / base:5.2f} × verify)")


if __name__ == "__main__":
    main()
