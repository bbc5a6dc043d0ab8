# A userspace 802.1Q subinterface for lab hosts on kernels without 802.1Q support.
#
# usage: vlan_shim.py PARENT VID NAME
# Creates TAP device NAME; frames the host sends on NAME leave PARENT tagged with VID, and
# frames arriving on PARENT tagged with VID are delivered untagged on NAME. The kernel moves
# a received tag into packet metadata, so it is read from PACKET_AUXDATA.
import fcntl, os, select, socket, struct, sys

parent, vid, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 0x10
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000

tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
raw.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
raw.bind((parent, 0))
tag = struct.pack("!HH", 0x8100, vid & 0x0FFF)
print("ready", flush=True)
while True:
    ready, _, _ = select.select([tap, raw], [], [])
    if tap in ready:
        frame = os.read(tap, 65535)
        if len(frame) >= 14:
            try:
                raw.send(frame[:12] + tag + frame[12:])
            except OSError:
                pass  # parent down or its queue full: a link drops the frame, so do we
    if raw in ready:
        frame, anc, _, addr = raw.recvmsg(65535, socket.CMSG_SPACE(20))
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 14:
            continue
        got = None
        for level, kind, data in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 20:
                status, _, _, _, _, tci = struct.unpack("IIIHHH", data[:18])
                if status & TP_STATUS_VLAN_VALID:
                    got = tci & 0x0FFF
        if got is None and frame[12:14] == b"\x81\x00":
            got = struct.unpack("!H", frame[14:16])[0] & 0x0FFF
            frame = frame[:12] + frame[16:]
        if got == vid:
            try:
                os.write(tap, frame)
            except OSError:
                # EIO while NAME is not up yet: the other side's IPv6 autoconfiguration frames
                # arrive in the window between TUNSETIFF and `ip link set NAME up`. Dying here
                # took the device with it ("Cannot find device"); drop the frame instead.
                pass
