"""Sends one G.711 RTP stream with known properties: COUNT packets of 20 ms (160 samples),
every packet whose index is in LOST skipped (its sequence number never sent), every LATE-th
packet sent DELAY_MS late (so interarrival jitter is known), and, if CALL is given, a SIP
INVITE to DST:5060 first whose SDP maps dynamic payload type 96 to PCMA and names DST:DPORT.
Usage: rtp_send.py DST DPORT SPORT COUNT LOST(comma list or -) LATE DELAY_MS [CALL]"""
import socket
import struct
import sys
import time

dst, dport, sport, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lost = set() if sys.argv[5] == "-" else {int(x) for x in sys.argv[5].split(",")}
late, delay = int(sys.argv[6]), float(sys.argv[7]) / 1000.0
call = sys.argv[8] if len(sys.argv) > 8 else None

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", sport))
pt = 0
if call:
    pt = 96
    body = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 96 101\r\na=rtpmap:96 PCMA/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n") % (dst, dst, dport)
    msg = ("INVITE sip:b@%s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK1\r\n"
           "From: <sip:a@10.0.1.2>;tag=1\r\nTo: <sip:b@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
           "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (dst, dst, call, len(body), body)
    sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sip.bind(("0.0.0.0", 5060))
    sip.sendto(msg.encode(), (dst, 5060))
    time.sleep(0.3)

ssrc, seq0, ts0 = 0x5A17, 65000, 123456
start = time.monotonic()
for i in range(count):
    due = start + i * 0.020 + (delay if late and i % late == late - 1 else 0.0)
    while True:
        now = time.monotonic()
        if now >= due:
            break
        time.sleep(min(due - now, 0.002))
    if i in lost:
        continue
    hdr = struct.pack("!BBHII", 0x80, pt, (seq0 + i) & 0xFFFF, (ts0 + 160 * i) & 0xFFFFFFFF, ssrc)
    s.sendto(hdr + b"\xd5" * 160, (dst, dport))
print("sent", count - len(lost))
