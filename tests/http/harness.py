"""Starts real redis-server and motorhead processes on loopback ports the
harness holds for them, and stops them by PID when the test, class or module
that started them ends, however it ends."""

import atexit
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import openapi_check
import prometheus

MOTORHEAD = os.environ.get("MOTORHEAD_BINARY", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "motorhead"))
# tests/tools/rogue_peer.cpp: a stranger speaking the cluster protocol.
ROGUE_PEER = os.environ.get("MOTORHEAD_ROGUE_PEER", os.path.join(
    os.path.dirname(MOTORHEAD), "tests", "rogue_peer"))
HARNESS_VARIABLES = {"MOTORHEAD_BINARY", "MOTORHEAD_ROGUE_PEER",
                     "MOTORHEAD_TENANT_SEED", "MOTORHEAD_TENANT_STEPS",
                     "MOTORHEAD_SANITIZED_BUILD"}


# -- ports --------------------------------------------------------------------

class PortReservation:
    """A loopback port held for a server the harness starts, from before the
    server starts until the harness lets it go.

    The socket is bound but never listens, and SO_REUSEADDR is set on it only
    after binding. The kernel then hands the port to no one else: a bind to
    port 0, an outgoing connection and another reservation each need a port
    that no socket is bound to. A server told to bind this very port with
    SO_REUSEADDR (redis-server, redis-sentinel, nginx and motorhead all set
    it) listens beside the reservation, since it does not listen. So no port
    is ever picked "free" and bound later by someone else; a server that
    stops and starts again finds its port still held for it; and a port
    reserved but never served refuses every connection."""

    def __init__(self, port=0):
        self._socket = socket.socket()
        try:
            self._socket.bind(("127.0.0.1", port))
        except OSError:
            self._socket.close()
            raise
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = self._socket.getsockname()[1]

    @classmethod
    def with_bus(cls, offset=10000):
        """A port whose Redis Cluster bus port (`offset` above) is held too:
        returns (port reservation, bus reservation)."""
        while True:
            port = cls()
            if port.port + offset <= 65535:
                try:
                    return port, cls(port.port + offset)
                except OSError:
                    pass  # the bus port is someone else's: try another
            port.release()

    def release(self):
        self._socket.close()


def refusing_port():
    """A port where nothing listens, held until the test (or class) that
    asked ends: every connection to it is refused."""
    reservation = PortReservation()
    _owning_scope().add(reservation.release)
    return reservation.port


# -- processes ----------------------------------------------------------------

class _Scope:
    """What a test, a test class or the whole run started: the finalizers
    that stop its processes and remove their files, run newest first."""

    def __init__(self):
        self._finalizers = []

    def add(self, finalizer):
        self._finalizers.append(finalizer)

    def close(self):
        while self._finalizers:
            self._finalizers.pop()()


_run_scope = _Scope()
_scopes = [_run_scope]
atexit.register(_run_scope.close)


@contextlib.contextmanager
def _entered(scope):
    _scopes.append(scope)
    try:
        yield scope
    finally:
        _scopes.remove(scope)


def _owning_scope():
    """The scope that owns what is made now: the innermost open one."""
    return _scopes[-1]


def spawn(args, **popen_args):
    """Starts `args` as a child process that the kernel kills should this
    process die first (PR_SET_PDEATHSIG, through setpriv, which execs the
    program: the PID is the program's). The signal follows the thread that
    started the child: start servers from the main thread."""
    return subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", *args],
                            **popen_args)


def kill(process):
    """SIGKILL and reap `process` if it still runs."""
    if process.poll() is None:
        process.kill()
    process.wait()


class TestCase(unittest.TestCase):
    """A test case whose servers never outlive it. Every harness server
    (Redis, sentinel, motorhead, the fake provider) belongs to the test that
    made it, or to the class when setUpClass made it, and is stopped when
    that ends: also when setUp or setUpClass raises and no tearDown runs.
    A server the test stopped itself is left as it is."""

    def run(self, result=None):
        with _entered(_Scope()) as scope:
            try:
                return super().run(result)
            finally:
                scope.close()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        set_up_class = cls.__dict__.get("setUpClass")
        if set_up_class is None:
            return

        def owned_set_up_class(klass):
            scope = _Scope()
            # Class cleanups run even when setUpClass raises.
            klass.addClassCleanup(scope.close)
            with _entered(scope):
                set_up_class.__func__(klass)

        cls.setUpClass = classmethod(owned_set_up_class)

    @classmethod
    def class_scope(cls):
        """For servers a test starts for the tests of its class that follow
        (started lazily, by the first test): made in this context, they
        belong to the class and are stopped when it ends."""
        scope = cls.__dict__.get("_lazy_class_scope")
        if scope is None:
            scope = cls._lazy_class_scope = _Scope()
            cls.addClassCleanup(scope.close)
        return _entered(scope)


def module_scope():
    """For setUpModule: what it makes belongs to the module's tests and is
    stopped after them, also when setUpModule raises."""
    scope = _Scope()
    unittest.addModuleCleanup(scope.close)
    return _entered(scope)


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class TlsFiles:
    """A CA made for the test with `openssl`, and certificates it signs:
    the servers' (for 127.0.0.1 and localhost, or for `server_names`) and a
    client's. Removed at the end of the test, class or module that made
    them."""

    def __init__(self, server_names=("IP:127.0.0.1", "DNS:localhost")):
        self.dir = tempfile.mkdtemp(prefix="motorhead-tls-")
        _owning_scope().add(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.ca, self.ca_key = self._path("ca.pem"), self._path("ca.key")
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                      "-days", "2", "-subj", "/CN=Motorhead test CA",
                      "-keyout", self.ca_key, "-out", self.ca)
        self.server_cert, self.server_key = self._sign(
            "server", "/CN=redis", ",".join(server_names))
        self.client_cert, self.client_key = self._sign(
            "client", "/CN=motorhead", None)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _sign(self, name, subject, alt_names):
        key, request, cert = (self._path(f"{name}.{ext}")
                              for ext in ("key", "csr", "pem"))
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                      "-keyout", key, "-out", request)
        extensions = self._path(f"{name}.ext")
        with open(extensions, "w") as out:
            if alt_names:
                out.write(f"subjectAltName={alt_names}\n")
        self._openssl("x509", "-req", "-in", request, "-CA", self.ca,
                      "-CAkey", self.ca_key, "-CAcreateserial", "-days", "2",
                      "-extfile", extensions, "-out", cert)
        return cert, key

    def redis_args(self, port, clients_show_certificates=False):
        """redis-server's options to serve TLS only, on `port`."""
        return ["--port", "0", "--tls-port", str(port),
                "--tls-cert-file", self.server_cert,
                "--tls-key-file", self.server_key,
                "--tls-ca-cert-file", self.ca,
                "--tls-auth-clients",
                "yes" if clients_show_certificates else "no",
                "--tls-replication", "yes", "--tls-cluster", "yes"]

    def client_context(self):
        """The tests' own TLS client: it trusts the CA (whatever name a
        certificate has) and shows the client certificate."""
        context = ssl.create_default_context(cafile=self.ca)
        # Some tests make certificates for other names on purpose.
        context.check_hostname = False
        context.load_cert_chain(self.client_cert, self.client_key)
        return context

    def cli_args(self):
        return ["--tls", "--cacert", self.ca, "--cert", self.client_cert,
                "--key", self.client_key]


class RedisServer:
    """A redis-server with its data in a temporary folder. Append-only with
    fsync on every write, so that a restart keeps what was acknowledged;
    `durable=False` keeps data in memory only, for traffic tests. Its port
    (and with `cluster_bus`, the bus port 10000 above) is held for it from
    the start; the test, class or module that made it removes it at its
    end, if the test did not."""

    def __init__(self, durable=True, replica_of=None, password=None,
                 cluster_bus=False, host=None, tls=None):
        self.durable = durable
        self.tls = tls  # TlsFiles: TLS only, on the port
        self.replica_of = replica_of  # a RedisServer to replicate
        self.password = password  # required of clients and replicas
        self.extra_args = []
        # On a host of a netns.Network: its address, Redis' usual port (the
        # namespace has no other server).
        self.host = host
        self.address = host.address if host else "127.0.0.1"
        self._ports = (() if host else PortReservation.with_bus()
                       if cluster_bus else (PortReservation(),))
        self.port = self._ports[0].port if self._ports else 6379
        self.dir = tempfile.mkdtemp(prefix="motorhead-redis-")
        self.process = None
        _owning_scope().add(self.remove)

    def start(self):
        replication = (["--replicaof", self.replica_of.address,
                        str(self.replica_of.port)]
                       if self.replica_of else [])
        if self.password:
            replication += ["--requirepass", self.password,
                            "--masterauth", self.password]
        if self.host:  # clients come from other hosts
            replication += ["--protected-mode", "no"]
        in_host = self.host.command if self.host else list
        ports = (self.tls.redis_args(self.port) if self.tls
                 else ["--port", str(self.port)])
        self.process = spawn(in_host(
            ["redis-server", *ports, "--bind", self.address,
             "--dir", self.dir, "--save", "",
             "--appendonly", "yes" if self.durable else "no",
             "--appendfsync", "always",
             # Tests widen race windows with DEBUG SLEEP.
             "--enable-debug-command", "local", *replication,
             *self.extra_args]),
            cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._answers_ping):
            self.stop()
            raise RuntimeError("redis-server did not start")

    def _answers_ping(self):
        """True once Redis serves commands: it answers -LOADING while it
        reads its append-only file after a restart."""
        try:
            return self.command("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def stop(self):
        if self.process:
            kill(self.process)
            self.process = None

    def remove(self):
        """Stops the server, deletes its data and lets its ports go."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        for reservation in self._ports:
            reservation.release()

    @property
    def url(self):
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{self.address}:{self.port}"

    def replicating(self):
        """Whether this replica's link to its master is up."""
        return "master_link_status:up" in self.command("INFO", "replication")

    def command(self, *args):
        """Sends one command over RESP and returns the decoded reply."""
        return self._send([args])[-1]

    def pipeline(self, commands):
        """Sends `commands` (argument tuples) in one round trip; returns
        their replies."""
        return self._send(commands)

    def command_readonly(self, *args):
        """Runs a read on this replica of a Redis Cluster (READONLY first:
        a cluster replica redirects reads to its master otherwise)."""
        return self._send([("READONLY",), args])[-1]

    def command_asking(self, *args):
        """Sends one command after ASKING (a slot migrating here)."""
        return self._send([("ASKING",), args])[-1]

    def keys(self, pattern="*"):
        """Every key matching `pattern`, found with SCAN."""
        found, cursor = [], "0"
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", pattern,
                                         "COUNT", 1000)
            found += batch
            if cursor == "0":
                return found

    def _send(self, commands):
        if self.password:
            return self._send_all([("AUTH", self.password), *commands])[1:]
        return self._send_all(commands)

    def _connect(self):
        sock = socket.create_connection((self.address, self.port), timeout=5)
        if self.tls:
            return self.tls.client_context().wrap_socket(
                sock, server_hostname=self.address)
        return sock

    def _send_all(self, commands):
        with self._connect() as sock:
            sock.sendall(b"".join(resp_command(args) for args in commands))
            stream = sock.makefile("rb")
            return [_read_reply(stream) for _ in commands]


class Sentinel(RedisServer):
    """A redis-sentinel watching `master` under `name`, quorum 1: it fails
    the master over to a replica once it has not answered for
    `down_after_ms`."""

    def __init__(self, master, name="motorhead", down_after_ms=1000,
                 host=None):
        super().__init__(durable=False, host=host, tls=master.tls)
        self.master, self.name, self.down_after_ms = master, name, down_after_ms
        if host:
            self.port = 26379

    def start(self):
        config = os.path.join(self.dir, "sentinel.conf")
        with open(config, "w") as out:
            if self.tls:
                # TLS only, to its clients and to the servers it watches.
                flags = self.tls.redis_args(self.port)
                out.write("".join(f"{flag[2:]} {value}\n" for flag, value
                                  in zip(flags[::2], flags[1::2])))
            else:
                out.write(f"port {self.port}\n")
            out.write(f"bind {self.address}\n"
                      "protected-mode no\n"
                      f"dir {self.dir}\n"
                      f"sentinel monitor {self.name} {self.master.address} "
                      f"{self.master.port} 1\n"
                      f"sentinel down-after-milliseconds {self.name} "
                      f"{self.down_after_ms}\n"
                      f"sentinel failover-timeout {self.name} 5000\n")
        in_host = self.host.command if self.host else list
        self.process = spawn(
            in_host(["redis-sentinel", config]), cwd=self.dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._answers_ping):
            self.stop()
            raise RuntimeError("redis-sentinel did not start")

    def master_port(self):
        return int(self.master_address()[1])

    def master_address(self):
        """(host, port) of the master this sentinel names now."""
        return tuple(self.command("SENTINEL", "get-master-addr-by-name",
                                  self.name))


class RedisCluster:
    """A Redis Cluster of `masters` masters, each with `replicas_each`
    replicas, made with `redis-cli --cluster create`. A master that stops
    answering for `node_timeout_ms` is replaced by its replica.
    `command` follows redirections like `redis-cli -c`."""

    def __init__(self, masters=3, replicas_each=1, node_timeout_ms=1000,
                 durable=True, password=None, tls=None):
        self.node_timeout_ms = node_timeout_ms
        self.replicas_each = replicas_each
        self.password = password
        self.tls = tls
        self.nodes = [RedisServer(durable=durable, password=password,
                                  cluster_bus=True, tls=tls)
                      for _ in range(masters * (1 + replicas_each))]

    def _cli_auth(self):
        auth = ["-a", self.password, "--no-auth-warning"] if self.password \
            else []
        return auth + (self.tls.cli_args() if self.tls else [])

    def start(self):
        for node in self.nodes:
            node.extra_args = ["--cluster-enabled", "yes",
                               "--cluster-config-file", "nodes.conf",
                               "--cluster-node-timeout",
                               str(self.node_timeout_ms)]
            node.start()
        subprocess.run(
            ["redis-cli", *self._cli_auth(), "--cluster", "create",
             *[f"127.0.0.1:{node.port}" for node in self.nodes],
             "--cluster-replicas", str(self.replicas_each), "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self.healthy, timeout=30):
            raise RuntimeError("the Redis Cluster did not form")

    def healthy(self):
        """Every node that runs sees every slot served, and every replica
        of a running master is in sync."""
        for node in self.running():
            try:
                if "cluster_state:ok" not in node.command("CLUSTER", "INFO"):
                    return False
                if node.command("ROLE")[0] == "slave" \
                        and not node.replicating():
                    return False
            except (OSError, RedisError):
                return False
        return True

    def running(self):
        return [node for node in self.nodes if node.process]

    def agrees(self):
        """Whether every node has the same view of the slots (as
        `redis-cli --cluster` requires before it changes them)."""
        return subprocess.run(
            ["redis-cli", *self._cli_auth(), "--cluster", "check",
             f"127.0.0.1:{self.running()[0].port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def masters(self):
        return [node for node in self.running()
                if node.command("ROLE")[0] == "master"]

    def master_of(self, key):
        """The node that serves `key`, as the cluster sees it now."""
        node = self.running()[0]
        slot = node.command("CLUSTER", "KEYSLOT", key)
        for start, end, master, *_ in node.command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return next(n for n in self.nodes if n.port == int(master[1]))
        raise RuntimeError(f"no master serves slot {slot}")

    @property
    def url(self):
        credentials = f":{self.password}@" if self.password else ""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{credentials}" + ",".join(
            f"127.0.0.1:{node.port}" for node in self.nodes[:3])

    def command(self, *args):
        """Runs a command on the master of its key (args[1])."""
        node = self.running()[0]
        for _ in range(5):
            try:
                return node.command(*args)
            except RedisError as err:
                kind, _slot, address = (str(err).split() + ["", ""])[:3]
                if kind not in ("MOVED", "ASK"):
                    raise
                port = int(address.rsplit(":", 1)[1])
                node = next(n for n in self.nodes if n.port == port)
                if kind == "ASK":
                    return node.command_asking(*args)
        raise RuntimeError("too many redirections")

    def keys(self, pattern="*"):
        """Every key of every master matching `pattern` (SCAN)."""
        found = []
        for node in self.masters():
            found += node.keys(pattern)
        return found

    def remove(self):
        for node in self.nodes:
            node.remove()


def resp_command(args):
    """A command (its arguments: bytes, text or numbers) as RESP sends it."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
    return payload


class TcpProxy:
    """A TCP proxy to a local port, on a port it binds itself. `requests`,
    when given, makes what the server gets of what a client sends: it takes
    the client's bytes as a file and yields bytes (a rewrite that knows the
    protocol); else they pass as they are. `cut()` shuts the open
    connections down and closes new ones, as a network that partitions."""

    def __init__(self, target_port, requests=None):
        self.target_port = target_port
        self._requests = requests
        self._cut = threading.Event()
        self._sockets = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            requests = (self._requests(client.makefile("rb"))
                        if self._requests else self._received(client))
            for chunks, sink in ((requests, upstream),
                                 (self._received(upstream), client)):
                threading.Thread(target=self._pump, args=(chunks, sink),
                                 daemon=True).start()

    def _received(self, source):
        while not self._cut.is_set():
            data = source.recv(65536)
            if not data:
                return
            yield data

    def _pump(self, chunks, sink):
        try:
            for data in chunks:
                if self._cut.is_set():
                    return
                sink.sendall(data)
        except OSError:
            pass

    def cut(self):
        self._cut.set()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.cut()
        self._listener.close()


class RedisError(RuntimeError):
    """An error reply of Redis."""


def _read_reply(stream):
    line = stream.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = stream.read(length + 2)[:-2]
        return data.decode()
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise RuntimeError(f"unexpected RESP line {line!r}")


class Motorhead:
    """A motorhead server process with the given extra environment, on a
    port held for it (see PortReservation); the test, class or module that
    made it stops it at its end, if the test did not."""

    def __init__(self, redis_url, open_files=None, host=None, **env):
        self.open_files = open_files
        # On a host of a netns.Network: its address, fixed ports (the
        # namespace has no other server), the cluster port advertised there.
        self.host = host
        self.address = host.address if host else "127.0.0.1"
        self._http_port = None if host else PortReservation()
        self.port = self._http_port.port if self._http_port else 8080
        # The suites' own variables are not the server's settings: it would
        # warn about each.
        self.env = {name: value for name, value in os.environ.items()
                    if name not in HARNESS_VARIABLES}
        self.env.update({"PORT": str(self.port), "REDIS_URL": redis_url,
                         "MOTORHEAD_HOST": self.address})
        if host:
            self.env.update({
                "MOTORHEAD_CLUSTER_HOST": self.address,
                "MOTORHEAD_CLUSTER_PORT": "7000",
                "MOTORHEAD_CLUSTER_ADVERTISE": f"{self.address}:7000"})
        self.env.update({k: str(v) for k, v in env.items()})
        self.process = None
        self.log = tempfile.TemporaryFile()
        _owning_scope().add(self._discard)

    def start(self):
        limits = (["prlimit", f"--nofile={self.open_files}:{self.open_files}",
                   "--"] if self.open_files else [])
        in_host = self.host.command if self.host else list
        self.process = spawn(in_host([*limits, MOTORHEAD]), env=self.env,
                             stdout=self.log, stderr=self.log)
        exited = lambda: self.process.poll() is not None
        if not wait_until(lambda: exited() or self._answers_health()) \
                or exited():
            self.stop()
            raise RuntimeError("motorhead did not start:\n" + self.output())

    def _answers_health(self):
        try:
            return self.request("GET", "/")[0] == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` and returns the exit code; a server still running
        after 15 s is killed and the wait fails."""
        if not self.process:
            return None
        self.process.send_signal(sig)
        return self.wait_exit()

    def wait_exit(self, timeout=15):
        """Waits for a process already told to stop; returns its exit code."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(self.process)
            raise
        finally:
            self.process = None

    def close(self, sig=signal.SIGTERM):
        """Stops the server; fails when a sanitizer build reported an error."""
        self.stop(sig)
        output = self.output()
        self._discard()
        reports = [output.find(marker) for marker in (
            "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
            "runtime error:", "WARNING: ThreadSanitizer")]
        first = min((at for at in reports if at >= 0), default=-1)
        if first >= 0:
            raise AssertionError("the server reported a sanitizer error:\n"
                                 + output[first:first + 8000])

    def _discard(self):
        """Kills the server if it still runs; lets its port and log go."""
        if self.process:
            kill(self.process)
            self.process = None
        self.log.close()
        if self._http_port:
            self._http_port.release()

    def operator_headers(self):
        """The headers of an unscoped key, when the server wants keys: what
        the operators' routes (/cluster, /metrics) need."""
        keys = self.env.get("MOTORHEAD_API_KEYS", "")
        unscoped = [key.strip() for key in keys.split(",")
                    if key.strip() and ":" not in key]
        return {"Authorization": f"Bearer {unscoped[0]}"} if unscoped else {}

    def rss_bytes(self):
        """The server's resident set size (VmRSS)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def request(self, method, path, body=None, headers=None, raw_body=None):
        """Returns (status, decoded JSON body, headers)."""
        conn = http.client.HTTPConnection(self.address, self.port, timeout=20)
        try:
            data = raw_body if raw_body is not None else (
                None if body is None else json.dumps(body))
            all_headers = {"Content-Type": "application/json"}
            all_headers.update(headers or {})
            conn.request(method, path, body=data, headers=all_headers)
            response = conn.getresponse()
            text = response.read().decode()
            headers = dict(response.getheaders())
            openapi_check.check(method, path, response.status, headers, text)
            return response.status, json.loads(text), headers
        finally:
            conn.close()

    def get_text(self, path, headers=None):
        """GET of a body that need not be JSON: (status, text, headers)."""
        conn = http.client.HTTPConnection(self.address, self.port, timeout=20)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            text = response.read().decode()
            answer_headers = dict(response.getheaders())
            openapi_check.check("GET", path, response.status, answer_headers,
                                text)
            return response.status, text, answer_headers
        finally:
            conn.close()

    def list_by_cursor(self, query="", size=100, max_pages=1000):
        """Every session a cursor listing gives (`query`: "namespace=x"),
        page by page, and the number of pages; fails past `max_pages` (a
        cursor that never ends)."""
        listed, cursor, pages = [], "", 0
        while cursor is not None:
            assert pages < max_pages, f"no end after {pages} pages: {cursor}"
            status, body, _ = self.request(
                "GET", f"/sessions?{query}&size={size}&cursor="
                + urllib.parse.quote(cursor, safe=""))
            assert status == 200, body
            assert len(body["sessions"]) <= size, body
            listed += body["sessions"]
            cursor = body["next_cursor"]
            pages += 1
        return listed, pages

    def scrape(self, headers=None):
        """GET /metrics: (status, body text, headers)."""
        return self.get_text("/metrics", headers)

    def metrics(self, headers=None):
        """The parsed exposition of GET /metrics (see prometheus.py)."""
        status, text, _ = self.scrape(headers)
        assert status == 200, text
        return prometheus.parse(text)

    def get_memory(self, session, details=False):
        """The session's memory view. The copy under "data" (on by default,
        for Flowise) must equal it, and is left out of what is returned.
        Its messages are role and content only, as the original API had
        them, unless `details` asks for their ids, times, metadata and
        token counts too."""
        status, body, _ = self.request("GET", f"/sessions/{session}/memory")
        assert status == 200, body
        envelope = body.pop("data", None)
        assert envelope is None or envelope == body, (envelope, body)
        if not details:
            body["messages"] = role_and_content(body["messages"])
        return body

    def post_memory(self, session, messages, context=None, namespace=None):
        body = {"messages": messages}
        if context is not None:
            body["context"] = context
        path = f"/sessions/{session}/memory"
        if namespace:
            path += f"?namespace={namespace}"
        return self.request("POST", path, body)


def turn(i):
    role = "Human" if i % 2 == 0 else "AI"
    return {"role": role, "content": f"message number {i} about topic{i}"}


FAKE_OPENAI = os.path.join(os.path.dirname(__file__), "..", "fake_openai",
                           "fake_openai.py")


def role_and_content(messages):
    """Messages as the original API had them: what most tests compare."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def human(text):
    return [{"role": "Human", "content": text}]


class Writer(threading.Thread):
    """POSTs numbered messages to one session until stopped; keeps the
    numbers whose POST was acknowledged, and counts the others."""

    def __init__(self, port, session):
        super().__init__(daemon=True)
        self.port, self.session = port, session
        self.acknowledged, self.refused = [], 0
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            body = json.dumps({"messages": human(f"{self.session}-{n}")})
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                  timeout=10)
                conn.request("POST", f"/sessions/{self.session}/memory", body,
                             {"Content-Type": "application/json"})
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            if status == 200:
                self.acknowledged.append(n)
            else:
                self.refused += 1
            # Paced, so that a session's messages stay within its window.
            time.sleep(0.005 if status == 200 else 0.05)

    def stop(self):
        self.stopping.set()
        self.join()


def wait_for_writes(writers, count=20, timeout=30):
    """Waits until every writer has `count` more acknowledged writes than
    it has now."""
    marks = [len(w.acknowledged) for w in writers]
    return wait_until(lambda: all(len(w.acknowledged) >= mark + count
                                  for w, mark in zip(writers, marks)),
                      timeout=timeout)


class FakeOpenAI:
    """tests/fake_openai/fake_openai.py on a port it binds itself (port 0)
    and reports; stopped like the servers (see TestCase)."""

    def __init__(self):
        self.process = spawn(
            [sys.executable, FAKE_OPENAI], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        _owning_scope().add(self.stop)
        self.port = int(self.process.stdout.readline())

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        kill(self.process)
        self.process.stdout.close()

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def control(self, **knobs):
        self._call("POST", "/_control", knobs)

    def reset(self):
        self._call("POST", "/_reset", {})

    def requests(self):
        return self._call("GET", "/_requests")

    def stats(self):
        return self._call("GET", "/_stats")


class Cluster:
    """Nodes of one cluster sharing a Redis, each on an HTTP port and a
    cluster port held for it (see PortReservation)."""

    def __init__(self, redis_url, size=3, **env):
        self._cluster_ports = [PortReservation() for _ in range(size)]
        _owning_scope().add(self._release_ports)
        self.names = [f"127.0.0.1:{reservation.port}"
                      for reservation in self._cluster_ports]
        peers = ",".join(self.names)
        self.nodes = [Motorhead(redis_url, MOTORHEAD_CLUSTER_PEERS=peers,
                                MOTORHEAD_CLUSTER_PORT=reservation.port, **env)
                      for reservation in self._cluster_ports]

    def _release_ports(self):
        for reservation in self._cluster_ports:
            reservation.release()

    def start(self):
        for node in self.nodes:
            node.start()
        if not wait_until(lambda: all(len(self.members(n)) == len(self.nodes)
                                      for n in self.nodes), timeout=20):
            raise RuntimeError("the cluster did not form")

    def members(self, node):
        return node.request("GET", "/cluster",
                            headers=node.operator_headers())[1]["members"]

    def owner(self, session, node=None):
        node = node or self.nodes[0]
        return node.request("GET", f"/cluster?session={session}",
                            headers=node.operator_headers())[1]["owner"]

    def close(self):
        for node in self.nodes:
            node.close()
        self._release_ports()
