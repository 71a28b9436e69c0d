"""Protobuf wire encoding for hand-made frames in the shell tests.

kefu-sim raw --send takes "header:LEN,hex:BYTES"; spec(body) builds it for
one Envelope. Field numbers are proto/kefu.proto's.
"""


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def vi(field, n):
    """A varint field."""
    return varint(field << 3) + varint(n)


def ld(field, data):
    """A length-delimited field (bytes, string, message)."""
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def spec(env):
    """The kefu-sim raw --send spec of one packed Envelope."""
    return "header:%d,hex:%s" % (len(env), env.hex())
