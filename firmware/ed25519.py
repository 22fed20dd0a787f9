# firmware/ed25519.py: Ed25519 signatures (RFC 8032 §5.1), to check a firmware bundle.
# MIT license; Oblako register runtime.
#
# verify(public_key, message, signature) -> bool is what the register runs before it installs a
# bundle (firmware/update.py); sign(seed, message) and public_key(seed) are what
# `oblako firmware build --key` runs on the build host. Pure Python on big integers, portable
# (MicroPython 1.27 and CPython): MicroPython's hashlib has no SHA-512, so it is here too (FIPS
# 180-4 §6.4), used only when hashlib lacks it. Not constant-time: the register only verifies
# public data; the build host signs once per bundle.
import hashlib

_HASH = getattr(hashlib, "sha512", None)
_M64 = 0xFFFFFFFFFFFFFFFF
# FIPS 180-4 §4.2.3 and §5.3.5: the fractional parts of the cube roots of the first 80 primes
# and of the square roots of the first 8 (tests/firmware/test_ed25519_mp.py checks the digest)
_K = (
    0x428A2F98D728AE22,
    0x7137449123EF65CD,
    0xB5C0FBCFEC4D3B2F,
    0xE9B5DBA58189DBBC,
    0x3956C25BF348B538,
    0x59F111F1B605D019,
    0x923F82A4AF194F9B,
    0xAB1C5ED5DA6D8118,
    0xD807AA98A3030242,
    0x12835B0145706FBE,
    0x243185BE4EE4B28C,
    0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F,
    0x80DEB1FE3B1696B1,
    0x9BDC06A725C71235,
    0xC19BF174CF692694,
    0xE49B69C19EF14AD2,
    0xEFBE4786384F25E3,
    0x0FC19DC68B8CD5B5,
    0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275,
    0x4A7484AA6EA6E483,
    0x5CB0A9DCBD41FBD4,
    0x76F988DA831153B5,
    0x983E5152EE66DFAB,
    0xA831C66D2DB43210,
    0xB00327C898FB213F,
    0xBF597FC7BEEF0EE4,
    0xC6E00BF33DA88FC2,
    0xD5A79147930AA725,
    0x06CA6351E003826F,
    0x142929670A0E6E70,
    0x27B70A8546D22FFC,
    0x2E1B21385C26C926,
    0x4D2C6DFC5AC42AED,
    0x53380D139D95B3DF,
    0x650A73548BAF63DE,
    0x766A0ABB3C77B2A8,
    0x81C2C92E47EDAEE6,
    0x92722C851482353B,
    0xA2BFE8A14CF10364,
    0xA81A664BBC423001,
    0xC24B8B70D0F89791,
    0xC76C51A30654BE30,
    0xD192E819D6EF5218,
    0xD69906245565A910,
    0xF40E35855771202A,
    0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8,
    0x1E376C085141AB53,
    0x2748774CDF8EEB99,
    0x34B0BCB5E19B48A8,
    0x391C0CB3C5C95A63,
    0x4ED8AA4AE3418ACB,
    0x5B9CCA4F7763E373,
    0x682E6FF3D6B2B8A3,
    0x748F82EE5DEFB2FC,
    0x78A5636F43172F60,
    0x84C87814A1F0AB72,
    0x8CC702081A6439EC,
    0x90BEFFFA23631E28,
    0xA4506CEBDE82BDE9,
    0xBEF9A3F7B2C67915,
    0xC67178F2E372532B,
    0xCA273ECEEA26619C,
    0xD186B8C721C0C207,
    0xEADA7DD6CDE0EB1E,
    0xF57D4F7FEE6ED178,
    0x06F067AA72176FBA,
    0x0A637DC5A2C898A6,
    0x113F9804BEF90DAE,
    0x1B710B35131C471B,
    0x28DB77F523047D84,
    0x32CAAB7B40C72493,
    0x3C9EBE0A15C9BEBC,
    0x431D67C49C100D4C,
    0x4CC5D4BECB3E42B6,
    0x597F299CFC657E2A,
    0x5FCB6FAB3AD6FAEC,
    0x6C44198C4A475817,
)
_H0 = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _M64


def _be(b: bytes) -> int:
    n = 0
    for c in b:
        n = (n << 8) | c
    return n


def _le(b: bytes) -> int:
    n = 0
    for c in reversed(b):
        n = (n << 8) | c
    return n


def _to_le(n: int, size: int) -> bytes:
    out = bytearray(size)
    for i in range(size):
        out[i] = n & 0xFF
        n >>= 8
    return bytes(out)


def _to_be(n: int, size: int) -> bytes:
    out = bytearray(size)
    for i in range(size - 1, -1, -1):
        out[i] = n & 0xFF
        n >>= 8
    return bytes(out)


def sha512_pure(data: bytes) -> bytes:
    """SHA-512 (FIPS 180-4) in Python: for a MicroPython without it."""
    n = len(data)
    msg = bytes(data) + b"\x80" + bytes((111 - n) % 128) + _to_be(n * 8, 16)
    h = list(_H0)
    w = [0] * 80
    for off in range(0, len(msg), 128):
        for i in range(16):
            w[i] = _be(msg[off + 8 * i : off + 8 * i + 8])
        for i in range(16, 80):
            x, y = w[i - 15], w[i - 2]
            s0 = _rotr(x, 1) ^ _rotr(x, 8) ^ (x >> 7)
            s1 = _rotr(y, 19) ^ _rotr(y, 61) ^ (y >> 6)
            w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & _M64
        a, b, c, d, e, f, g, hh = h
        for i in range(80):
            t1 = hh + (_rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41))
            t1 += ((e & f) ^ ((e ^ _M64) & g)) + _K[i] + w[i]
            t2 = (_rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))
            hh, g, f, e = g, f, e, (d + t1) & _M64
            d, c, b, a = c, b, a, (t1 + t2) & _M64
        v = (a, b, c, d, e, f, g, hh)
        h = [(h[i] + v[i]) & _M64 for i in range(8)]
    return b"".join(_to_be(v, 8) for v in h)


def sha512(data: bytes) -> bytes:
    """SHA-512: hashlib's when it has it."""
    if _HASH is not None:
        return _HASH(data).digest()
    return sha512_pure(data)


# the curve (RFC 8032 §5.1): p, the group order L, d, sqrt(-1)
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _add(a: tuple, b: tuple) -> tuple:
    # extended twisted Edwards coordinates (RFC 8032 §5.1.4)
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, p: tuple) -> tuple:
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _same(a: tuple, b: tuple) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _x_of(y: int, sign: int) -> "int | None":
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _I % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _x_of(_GY, 0) or 0
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _encode(p: tuple) -> bytes:
    zi = pow(p[2], _P - 2, _P)
    x, y = p[0] * zi % _P, p[1] * zi % _P
    return _to_le(y | ((x & 1) << 255), 32)


def _decode(s: bytes) -> "tuple | None":
    y = _le(s)
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _x_of(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _secret(seed: bytes) -> tuple:
    if len(seed) != 32:
        raise ValueError("an Ed25519 secret key is 32 bytes")
    h = sha512(seed)
    a = (_le(h[:32]) & ((1 << 254) - 8)) | (1 << 254)
    return a, h[32:]


def public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte secret key (seed)."""
    return _encode(_mul(_secret(seed)[0], _G))


def sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte signature of `message` (RFC 8032 §5.1.6)."""
    a, prefix = _secret(seed)
    pub = _encode(_mul(a, _G))
    r = _le(sha512(prefix + message)) % _L
    rs = _encode(_mul(r, _G))
    k = _le(sha512(rs + pub + message)) % _L
    return rs + _to_le((r + k * a) % _L, 32)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is `public`'s over `message` (RFC 8032 §5.1.7); never raises."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decode(public)
    r = _decode(signature[:32])
    s = _le(signature[32:])
    if a is None or r is None or s >= _L:
        return False
    k = _le(sha512(signature[:32] + public + message)) % _L
    return _same(_mul(s, _G), _add(r, _mul(k, a)))
