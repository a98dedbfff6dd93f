#!/usr/bin/python3
"""The homework-redirect lab scripted with Mininet, the peer `cargo xtask bench homework`
compares labctl with: two hosts on a Linux bridge, a netcat dump server on 27664 on the server,
a capture of the server's interface with tcpdump, one connection to 27664, the REDIRECT rule
from 21 to 27664, one connection to 21, then the dump file checked.

Usage: homework_mininet.py OUT_DIR (as root, with mininet, tcpdump, netcat-openbsd, iptables).
"""

import os
import sys
import time

import mininet.net
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge

# Mininet raises the machine's TCP buffer sysctls when it starts, which would change the
# windows every later lab on the machine advertises: left as they are.
mininet.net.fixLimits = lambda: None


def wait_for(check, what, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            sys.exit(f"homework_mininet: no {what} after {seconds} s")
        time.sleep(0.002)


def text(path):
    try:
        with open(path, newline="") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def main(out):
    os.makedirs(out, exist_ok=True)
    dump = os.path.join(out, "dump.txt")
    pcap = os.path.join(out, "server-eth0.pcap")
    said = os.path.join(out, "tcpdump.txt")
    net = Mininet(switch=LinuxBridge, controller=None, autoSetMacs=True)
    client = net.addHost("client", ip="10.0.0.1/24")
    server = net.addHost("server", ip="10.0.0.2/24")
    bridge = net.addSwitch("s1")
    net.addLink(client, bridge)
    net.addLink(server, bridge)
    net.start()
    try:
        server.cmd(f"tcpdump -i server-eth0 --immediate-mode -U -w {pcap} 2>{said} &")
        wait_for(lambda: "listening on" in text(said), "capture")
        server.cmd(f"nc -l -k -p 27664 > {dump} &")
        wait_for(lambda: ":6C10 " in server.cmd("cat /proc/net/tcp"), "listener on 27664")
        client.cmd("printf 'hello on 27664\\r\\n' | nc -q0 10.0.0.2 27664")
        server.cmd(
            "iptables -t nat -A PREROUTING -i server-eth0 -p tcp -m tcp --dport 21 "
            "-j REDIRECT --to-ports 27664"
        )
        client.cmd("printf 'hello through 21\\r\\n' | nc -q0 10.0.0.2 21")
        want = "hello on 27664\r\nhello through 21\r\n"
        wait_for(lambda: text(dump) == want, "dump file with both lines")
        server.cmd("kill -INT %tcpdump; wait %tcpdump")
    finally:
        server.cmd("kill %nc")
        net.stop()


if __name__ == "__main__":
    setLogLevel("error")
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
