# micropython
# Helpers for the portable firmware tests, which run under CPython (pytest) and under
# MicroPython 1.27 (tools/mprun.mjs). Only the MicroPython subset is used here.
import json

_MP_VECTORS = "/vectors/"  # where tools/mprun.mjs puts protocol/vectors in the wasm FS


def _repo_vectors() -> str:
    here = __file__.replace("\\", "/")
    root = here.rsplit("/", 3)[0]  # .../tests/firmware/mpsupport.py -> repo root
    return root + "/protocol/vectors/"


def read_vector(name: str) -> str:
    for base in (_MP_VECTORS, _repo_vectors()):
        try:
            with open(base + name) as f:
                return f.read()
        except OSError:
            pass
    raise OSError("vector not found: " + name)


def load_vector(name: str):
    return json.loads(read_vector(name))


def unhex(text: str) -> bytes:
    import binascii

    return binascii.unhexlify(text.strip())


def raises(exc, fn, *args):
    """Call fn(*args); return the exception if it is an `exc`, fail otherwise."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc.__name__))


T0 = 1705303800  # 2024-01-15 07:30:00 UTC = 10:30 in Moscow (UTC+3)


class FakeClock:
    """The clock contract (wall, monotonic, sleep) over fake time: sleep moves it at once."""

    def __init__(self, wall=T0):
        self.t = 0.0
        self.base = wall

    def wall(self):
        return self.base + self.t

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        if seconds > 0:
            self.t += seconds
