"""Starts real redis-server and motorhead processes on free loopback ports
for the black-box tests, and stops them by PID."""

import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import openapi_check
import prometheus

MOTORHEAD = os.environ.get("MOTORHEAD_BINARY", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "motorhead"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class RedisServer:
    """A redis-server with its data in a temporary folder. Append-only with
    fsync on every write, so that a restart keeps what was acknowledged;
    `durable=False` keeps data in memory only, for traffic tests."""

    def __init__(self, durable=True, replica_of=None):
        self.durable = durable
        self.replica_of = replica_of  # a RedisServer to replicate
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="motorhead-redis-")
        self.process = None

    def start(self):
        replication = (["--replicaof", "127.0.0.1", str(self.replica_of.port)]
                       if self.replica_of else [])
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "",
             "--appendonly", "yes" if self.durable else "no",
             "--appendfsync", "always",
             # Tests widen race windows with DEBUG SLEEP.
             "--enable-debug-command", "local", *replication],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._answers_ping):
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
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def replicating(self):
        """Whether this replica's link to its master is up."""
        return "master_link_status:up" in self.command("INFO", "replication")

    def command(self, *args):
        """Sends one command over RESP and returns the decoded reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            payload = f"*{len(args)}\r\n"
            for arg in args:
                data = str(arg).encode()
                payload += f"${len(data)}\r\n" + data.decode() + "\r\n"
            sock.sendall(payload.encode())
            return _read_reply(sock.makefile("rb"))


class Sentinel(RedisServer):
    """A redis-sentinel watching `master` under `name`, quorum 1: it fails
    the master over to a replica once it has not answered for
    `down_after_ms`."""

    def __init__(self, master, name="motorhead", down_after_ms=1000):
        super().__init__(durable=False)
        self.master, self.name, self.down_after_ms = master, name, down_after_ms

    def start(self):
        config = os.path.join(self.dir, "sentinel.conf")
        with open(config, "w") as out:
            out.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                      f"sentinel monitor {self.name} 127.0.0.1 "
                      f"{self.master.port} 1\n"
                      f"sentinel down-after-milliseconds {self.name} "
                      f"{self.down_after_ms}\n"
                      f"sentinel failover-timeout {self.name} 5000\n")
        self.process = subprocess.Popen(
            ["redis-sentinel", config],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._answers_ping):
            raise RuntimeError("redis-sentinel did not start")

    def master_port(self):
        return int(self.command("SENTINEL", "get-master-addr-by-name",
                                self.name)[1])


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
    """A motorhead server process with the given extra environment."""

    def __init__(self, redis_url, open_files=None, **env):
        self.open_files = open_files
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update({"PORT": str(self.port), "REDIS_URL": redis_url,
                         "MOTORHEAD_HOST": "127.0.0.1"})
        self.env.update({k: str(v) for k, v in env.items()})
        self.process = None
        self.log = tempfile.TemporaryFile()

    def start(self):
        self.process = subprocess.Popen([MOTORHEAD], env=self.env,
                                        stdout=self.log, stderr=self.log,
                                        preexec_fn=self._limit_open_files)
        exited = lambda: self.process.poll() is not None
        if not wait_until(lambda: exited() or self._answers_health()) \
                or exited():
            self.stop()
            raise RuntimeError("motorhead did not start:\n" + self.output())

    def _limit_open_files(self):
        if self.open_files:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (self.open_files, self.open_files))

    def _answers_health(self):
        try:
            return self.request("GET", "/")[0] == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.process:
            self.process.send_signal(sig)
            try:
                code = self.process.wait(timeout=15)
            finally:
                self.process = None
            return code
        return None

    def wait_exit(self, timeout=15):
        """Waits for a process already told to stop; returns its exit code."""
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.process = None

    def close(self, sig=signal.SIGTERM):
        """Stops the server; fails when a sanitizer build reported an error."""
        self.stop(sig)
        output = self.output()
        self.log.close()
        reports = [output.find(marker) for marker in (
            "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
            "runtime error:", "WARNING: ThreadSanitizer")]
        first = min((at for at in reports if at >= 0), default=-1)
        if first >= 0:
            raise AssertionError("the server reported a sanitizer error:\n"
                                 + output[first:first + 8000])

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
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
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
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
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

    def scrape(self, headers=None):
        """GET /metrics: (status, body text, headers)."""
        return self.get_text("/metrics", headers)

    def metrics(self, headers=None):
        """The parsed exposition of GET /metrics (see prometheus.py)."""
        status, text, _ = self.scrape(headers)
        assert status == 200, text
        return prometheus.parse(text)

    def get_memory(self, session):
        """The session's memory view. The copy under "data" (on by default,
        for Flowise) must equal it, and is left out of what is returned."""
        status, body, _ = self.request("GET", f"/sessions/{session}/memory")
        assert status == 200, body
        envelope = body.pop("data", None)
        assert envelope is None or envelope == body, (envelope, body)
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


class FakeOpenAI:
    """tests/fake_openai/fake_openai.py on a free port."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, FAKE_OPENAI], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.port = int(self.process.stdout.readline())

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
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
    """Nodes of one cluster on free loopback ports, sharing a Redis."""

    def __init__(self, redis_url, size=3, **env):
        cluster_ports = [free_port() for _ in range(size)]
        peers = ",".join(f"127.0.0.1:{port}" for port in cluster_ports)
        self.names = [f"127.0.0.1:{port}" for port in cluster_ports]
        self.nodes = [Motorhead(redis_url, MOTORHEAD_CLUSTER_PEERS=peers,
                                MOTORHEAD_CLUSTER_PORT=port, **env)
                      for port in cluster_ports]

    def start(self):
        for node in self.nodes:
            node.start()
        if not wait_until(lambda: all(len(self.members(n)) == len(self.nodes)
                                      for n in self.nodes), timeout=20):
            raise RuntimeError("the cluster did not form")

    def members(self, node):
        return node.request("GET", "/cluster")[1]["members"]

    def owner(self, session, node=None):
        node = node or self.nodes[0]
        return node.request("GET", f"/cluster?session={session}")[1]["owner"]

    def close(self):
        for node in self.nodes:
            node.close()
