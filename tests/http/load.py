"""Traffic shapes for the black-box tests and the benchmarks: many new
sessions written quickly (with wrk), a probe that measures the latency of
single requests while that traffic runs, and writers and readers through
several nodes whose every read is checked."""

import http.client
import os
import re
import subprocess
import threading
import time
import uuid

NEW_SESSIONS_LUA = os.path.join(os.path.dirname(__file__), "..", "..",
                                "bench", "lua", "new_sessions.lua")

def wrk_new_sessions(port, seconds, prefix, connections=16):
    """Runs wrk for `seconds`, each request POSTing to a new session; returns
    (requests answered, answers that were not 2xx)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s",
         NEW_SESSIONS_LUA, f"http://127.0.0.1:{port}", "--", prefix],
        check=True, capture_output=True, text=True).stdout
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return answered, int(failed.group(1)) if failed else 0


def wave_of_at_least(port, minimum, prefix, seconds=5, max_rounds=4):
    """Starts at least `minimum` new sessions with wrk, in rounds of
    `seconds` (a slow machine, or a sanitizer build, needs more than one);
    returns (sessions started, answers that were not 2xx)."""
    started = failed = 0
    for round_number in range(max_rounds):
        answered, not_ok = wrk_new_sessions(port, seconds,
                                            f"{prefix}{round_number}")
        started += answered
        failed += not_ok
        if started >= minimum:
            break
    return started, failed


class Probe(threading.Thread):
    """GETs one session over and over, one request at a time on a fresh
    connection, and records (status, seconds) for each."""

    def __init__(self, port, path, interval=0.02, timeout=30):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.interval, self.timeout = interval, timeout
        self.results = []
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.is_set():
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=self.timeout)
            try:
                conn.request("GET", self.path)
                status = conn.getresponse().status
            except OSError:
                status = None
            finally:
                conn.close()
            self.results.append((status, time.monotonic() - started))
            self._stopping.wait(self.interval)

    def stop(self):
        self._stopping.set()
        self.join()

    def latencies(self):
        return sorted(seconds for _, seconds in self.results)

    def failures(self):
        return [status for status, _ in self.results if status != 200]


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


class CheckedTraffic:
    """Writers and readers through every node, by phase: whether each
    request was served (2xx within 5 s), which GETs missed a write
    acknowledged before they began, and what was acknowledged. Each node
    has writers and readers of its own, as clients of their own: a node
    that answers slowly slows only them."""

    SESSIONS = 60
    WRITERS = 2  # per node
    READERS = 2  # per node

    def __init__(self, nodes):
        self.nodes = nodes
        self.sessions = [f"p-{uuid.uuid4().hex[:10]}" for _ in range(self.SESSIONS)]
        self.lock = threading.Lock()
        self.phase = "start"
        # Per session: contents whose POST was acknowledged, in order.
        self.acknowledged = {s: [] for s in self.sessions}
        self.answers = []  # (phase, index of the node entered, served)
        self.stale = []
        self.stopping = threading.Event()
        workers = [(entered, worker) for entered in range(len(nodes))
                   for worker in range(self.WRITERS)]
        self.threads = (
            [threading.Thread(target=self.write, args=(entered, worker))
             for entered, worker in workers]
            + [threading.Thread(target=self.read, args=(entered, worker))
               for entered, worker in workers[:len(nodes) * self.READERS]])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def set_phase(self, phase):
        with self.lock:
            self.phase = phase

    def record(self, phase, entered, status, seconds):
        with self.lock:
            self.answers.append(
                (phase, entered, 200 <= status < 300 and seconds < 5))

    def write(self, entered, worker):
        n = (entered * 100 + worker) * 10**6
        while not self.stopping.is_set():
            n += 1
            session = self.sessions[(n + worker * 7) % self.SESSIONS]
            with self.lock:
                phase = self.phase
            content = f"w{n}"
            began = time.monotonic()
            try:
                status = self.nodes[entered].post_memory(
                    session, [{"role": "Human", "content": content}])[0]
            except OSError:
                status = 0
            self.record(phase, entered, status, time.monotonic() - began)
            if status == 200:
                with self.lock:
                    self.acknowledged[session].append(content)

    def read(self, entered, worker):
        n = (entered * 100 + worker) * 10**6
        while not self.stopping.is_set():
            n += 1
            session = self.sessions[(n * 7 + worker) % self.SESSIONS]
            with self.lock:
                phase = self.phase
                before = list(self.acknowledged[session])
            began = time.monotonic()
            try:
                status, body, _ = self.nodes[entered].request(
                    "GET", f"/sessions/{session}/memory")
            except OSError:
                status, body = 0, {}
            self.record(phase, entered, status, time.monotonic() - began)
            if status != 200:
                continue
            seen = {m["content"] for m in body["messages"]}
            missing = [c for c in before if c not in seen]
            if missing:
                with self.lock:
                    self.stale.append((phase, entered, session,
                                       missing[:3]))

    def served(self, phase, entering=None):
        """The share of the phase's requests served, and their count; only
        those entering the nodes numbered `entering`, if given."""
        with self.lock:
            answers = [ok for p, entered, ok in self.answers
                       if p == phase and (entering is None or entered in entering)]
        return sum(answers) / max(1, len(answers)), len(answers)

    def lost_or_doubled(self, reader):
        """Acknowledged messages not stored, and messages stored twice,
        read through `reader` once the traffic stopped."""
        lost, doubled = [], []
        for session in self.sessions:
            stored = [m["content"]
                      for m in reader.get_memory(session)["messages"]]
            doubled += [c for c in set(stored) if stored.count(c) > 1]
            lost += [c for c in self.acknowledged[session] if c not in stored]
        return lost, doubled
