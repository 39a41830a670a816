"""Traffic shapes for the black-box tests and the benchmarks: many new
sessions written quickly (with wrk), and a probe that measures the latency of
single requests while that traffic runs."""

import http.client
import os
import re
import subprocess
import threading
import time

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
