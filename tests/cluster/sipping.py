#!/usr/bin/env python3
"""Is a SIP or NG endpoint answering? (tests/cluster/harness --sip)

    sipping.py sip IP:PORT   an OPTIONS gets any SIP response
    sipping.py ng IP:PORT    rtpengine answers an NG ping with pong
Exit 0 when it answers within a second, 1 otherwise.
"""
import os
import socket
import sys

kind, addr = sys.argv[1], sys.argv[2]
host, port = addr.rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]
if kind == "ng":
    msg = b"ping1 d7:command4:pinge"
else:
    tag = os.urandom(4).hex()
    msg = ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n"
           "From: <sip:ping@127.0.0.1>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s@ping\r\n"
           "CSeq: 1 OPTIONS\r\nMax-Forwards: 2\r\nContent-Length: 0\r\n\r\n"
           % (addr, me, tag, tag, addr, tag)).encode()
try:
    s.sendto(msg, (host, int(port)))
    data = s.recv(4096)
except OSError:
    sys.exit(1)
ok = b"pong" in data if kind == "ng" else data.startswith(b"SIP/2.0 ")
sys.exit(0 if ok else 1)
