# firmware/compat.py: the few names MicroPython has and CPython lacks.
# MIT license; Oblako register runtime.
#
# On MicroPython `const()` comes from the `micropython` module and is folded by the
# compiler (it recognises the name `const`, wherever it was imported from); on CPython
# it is the identity.
try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython: simulator, bench, tests

    def const(x: int) -> int:
        return x


__all__ = ["const"]
