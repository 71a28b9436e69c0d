#!/usr/bin/env python3
"""Counts the RTP a party gets: rtpcount.py PORT SECONDS OUT.json [--echo|--talk]

Binds 127.0.0.1:PORT (UDP), then creates OUT.bound, counts datagrams for SECONDS from the first
one, and writes {"packets", "seconds", "sources": ["ip:port", ...],
"marked", "last_marked", "first"} to OUT: "marked" counts the packets carrying a
caller's mark (below), so audio that went through both legs can be told
from prompts; "last_marked" is when the last of them came and "first" when
the first packet came (Unix seconds).
With --echo it sends each packet back to its source (an answering phone).
With --talk, from the first packet on it sends RTP (PCMU, 20 ms, the mark
at the start of each payload) to that packet's source 50 times a second,
as a caller speaking into rtpengine's port; with --digit=D it also presses
the key D (RFC 4733 telephone-event, payload type 101) a second in, or,
with --digit-file=PATH too, once PATH exists (the test says when).
It gives up SECONDS + 30 after it started when nothing came, or after
--within=S seconds in all (a party that must get nothing).
"""
import json
import os
import socket
import struct
import sys
import time

MARK = b"KEFU-CALLER-AUDIO"
port, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
echo = "--echo" in sys.argv[4:]
talk = "--talk" in sys.argv[4:]
digit = ([a[8:] for a in sys.argv[4:] if a.startswith("--digit=")] or [None])[0]
digit_file = ([a[13:] for a in sys.argv[4:] if a.startswith("--digit-file=")] or [None])[0]
EVENTS = {d: i for i, d in enumerate("0123456789*#")}


def dtmf_packets(first_seq, ts):
    """The RTP packets of one key press: 8 updates, the last three marked end."""
    out = []
    for i in range(8):
        end = 0x80 if i >= 5 else 0
        hdr = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, (first_seq + i) & 0xFFFF,
                          ts & 0xFFFFFFFF, 0x4B454655)
        out.append(hdr + struct.pack("!BBH", EVENTS[digit], end | 10, min(i + 1, 5) * 160))
    return out
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
open(out + ".bound", "w").close()  # the test may start the call now
s.settimeout(0.02)
n, marked, last_marked, sources, first = 0, 0, 0.0, set(), None
within = [float(a[9:]) for a in sys.argv[4:] if a.startswith("--within=")]
deadline = time.time() + (within[0] if within else secs + 30)
peer, seq, next_send = None, 0, 0.0
while time.time() < deadline:
    now = time.time()
    if first is not None and now - first >= secs:
        break
    if talk and peer and digit is not None and (
            os.path.exists(digit_file) if digit_file else seq == 50):
        for pkt in dtmf_packets(seq, seq * 160):
            s.sendto(pkt, peer)
            time.sleep(0.02)
        seq += 8
        digit = None
    if talk and peer and now >= next_send:
        hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, 0x4B454655)
        s.sendto(hdr + MARK + b"\xff" * (160 - len(MARK)), peer)
        seq += 1
        next_send = now + 0.02
    try:
        data, src = s.recvfrom(4096)
    except socket.timeout:
        continue
    if first is None:
        first = time.time()
        peer = src
    n += 1
    if MARK in data:
        marked += 1
        last_marked = time.time()
    sources.add("%s:%d" % src)
    if echo:
        s.sendto(data, src)
json.dump({"packets": n, "seconds": secs, "sources": sorted(sources), "marked": marked,
           "last_marked": last_marked, "first": first or 0.0},
          open(out, "w"))
