"""A network of hosts on one machine: each host a network namespace with an
address of its own, all on one bridge that lives in a namespace of its own,
so that nothing touches the machine's network. Cuts are blackhole routes:
packets vanish as on a real network (no reset; connections hang until
their timeouts). Needs root.

The test process joins one of the hosts itself (`enter`) to reach the
others; servers run in theirs through `ip netns exec`."""

import ctypes
import os
import subprocess

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"


def available():
    """Whether this process may make namespaces (root, and `ip netns`)."""
    if os.geteuid() != 0:
        return False
    probe = f"mh-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe],
                          capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Host:
    """One host of a Network: its namespace and its address."""

    def __init__(self, network, name, address):
        self.network, self.name, self.address = network, name, address
        self.namespace = f"{network.prefix}-{name}"

    def command(self, args):
        """`args` run in this host's namespace (`ip netns exec` execs the
        program: its PID is the program's)."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(self, *args):
        subprocess.run(self.command(list(args)), check=True,
                       capture_output=True)

    def __repr__(self):
        return f"{self.name} ({self.address})"


class Network:
    """Hosts by name, made at once; `remove` deletes them all (the
    namespaces' processes should be stopped first)."""

    def __init__(self, names):
        self.prefix = f"mh{os.getpid()}"
        self.switch = f"{self.prefix}-sw"
        self.hosts = {}
        self._blackholes = set()  # (host name, address)
        try:
            _ip("netns", "add", self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for index, name in enumerate(names):
                self._add_host(index, name)
        except Exception:
            self.remove()
            raise

    def _add_host(self, index, name):
        host = Host(self, name, f"{SUBNET}.{10 + index}")
        _ip("netns", "add", host.namespace)
        self.hosts[name] = host
        port = f"v{index}"
        _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer",
            "name", "eth0", "netns", host.namespace)
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", host.namespace, "addr", "add", f"{host.address}/24",
            "dev", "eth0")
        _ip("-n", host.namespace, "link", "set", "eth0", "up")
        _ip("-n", host.namespace, "link", "set", "lo", "up")

    def __getitem__(self, name):
        return self.hosts[name]

    def enter(self, name):
        """Moves this process into the host's namespace. Threads started
        later are there too: call it before any thread starts."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open(f"/var/run/netns/{self[name].namespace}") as ns:
            if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")

    def drop(self, sender, receiver):
        """`sender` can no longer send to `receiver`: its packets vanish
        (a one-way cut; TCP between them fails both ways, its
        acknowledgements being packets too)."""
        key = (sender, self[receiver].address)
        if key not in self._blackholes:
            _ip("-n", self[sender].namespace, "route", "add", "blackhole",
                f"{self[receiver].address}/32")
            self._blackholes.add(key)

    def cut(self, a, b):
        """Neither of `a` and `b` reaches the other."""
        self.drop(a, b)
        self.drop(b, a)

    def isolate(self, name, but=()):
        """`name` reaches no host, and no host reaches it, but those named
        in `but`."""
        for other in self.hosts:
            if other != name and other not in but:
                self.cut(name, other)

    def heal(self):
        """Every cut undone."""
        for sender, address in sorted(self._blackholes):
            _ip("-n", self[sender].namespace, "route", "del", "blackhole",
                f"{address}/32")
        self._blackholes.clear()

    def remove(self):
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "del", host.namespace],
                           capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch],
                       capture_output=True)
        self.hosts.clear()
