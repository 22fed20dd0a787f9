# micropython
# Portable tests of firmware.ed25519 (RFC 8032 §7.1 test vectors 1 and 2; FIPS 180-2's SHA-512
# "abc" example): run by pytest on CPython and by tools/mprun.mjs on MicroPython 1.27, where
# hashlib has no SHA-512 and the module's own runs.
import binascii

from firmware import ed25519

VECTORS = (
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
)


def h(text):
    return binascii.unhexlify(text)


def test_sha512_of_the_standard_examples():
    assert ed25519.sha512_pure(b"abc") == h(
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    )
    assert ed25519.sha512_pure(b"") == h(
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    )
    for n in (111, 112, 127, 128, 129, 255):  # the padding's edges: one block or two
        data = bytes(i & 0xFF for i in range(n))
        assert ed25519.sha512_pure(data) == ed25519.sha512(data)


def test_rfc8032_vectors_sign_and_verify():
    for seed, public, message, signature in VECTORS:
        assert ed25519.public_key(h(seed)) == h(public)
        assert ed25519.sign(h(seed), h(message)) == h(signature)
        assert ed25519.verify(h(public), h(message), h(signature))


def test_a_changed_message_signature_or_key_fails():
    _seed, public, message, signature = VECTORS[1]
    sig = bytearray(h(signature))
    assert not ed25519.verify(h(public), b"\x73", bytes(sig))
    sig[5] ^= 1
    assert not ed25519.verify(h(public), h(message), bytes(sig))
    assert not ed25519.verify(h(VECTORS[0][1]), h(message), h(signature))
    assert not ed25519.verify(h(public), h(message), h(signature)[:63])
    big_s = h(signature)[:32] + b"\xff" * 32  # s >= L is refused, not reduced
    assert not ed25519.verify(h(public), h(message), big_s)
    assert not ed25519.verify(b"\xff" * 32, h(message), h(signature))  # not a curve point
