"""Sends one SIP INVITE whose SDP offers media at ADDR:PORT with the given payload type and
rtpmap (a call's signalling as it crosses the network; nobody needs to answer it).
Usage: sip_offer.py DST CALL_ID ADDR PORT MEDIA PT RTPMAP"""
import socket
import sys

dst, call, addr, port, media, pt, rtpmap = sys.argv[1:8]
body = ("v=0\r\no=- 0 0 IN IP4 {a}\r\ns=-\r\nc=IN IP4 {a}\r\nt=0 0\r\n"
        "m={m} {p} RTP/AVP {pt}\r\na=rtpmap:{pt} {map}\r\n").format(
            a=addr, m=media, p=port, pt=pt, map=rtpmap)
msg = ("INVITE sip:monitor@{d} SIP/2.0\r\nVia: SIP/2.0/UDP {a}:5060;branch=z9hG4bK-{c}\r\n"
       "From: <sip:source@{a}>;tag=1\r\nTo: <sip:monitor@{d}>\r\nCall-ID: {c}\r\n"
       "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {n}\r\n\r\n{b}").format(
           d=dst, a=addr, c=call, n=len(body), b=body)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5060))
s.sendto(msg.encode(), (dst, 5060))
print("sent", call)
