#!/usr/bin/env python3
"""Holds loopback ports for servers a shell script starts, as the harness
holds them for its own (harness.PortReservation): prints the ports on one
line, then holds them until it is stopped.

  reserve_ports.py [COUNT] [--with-bus]   COUNT ports (default 1); with
                                          --with-bus, each port's Redis
                                          Cluster bus port too (not printed)
"""

import signal
import sys

from harness import PortReservation


def main(args):
    with_bus = "--with-bus" in args
    numbers = [arg for arg in args if arg != "--with-bus"]
    count = int(numbers[0]) if numbers else 1
    held = [PortReservation.with_bus() if with_bus else (PortReservation(),)
            for _ in range(count)]
    print(" ".join(str(ports[0].port) for ports in held), flush=True)
    signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
