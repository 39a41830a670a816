#!/usr/bin/env python3
"""What one request costs the server and Redis, counted in instructions.

CPU time on this shared virtual machine varies by 20 % and more between
runs, more than most changes move it; instructions do not. Both the server
and Redis run under callgrind (valgrind), counting from after a warm-up:
eight keep-alive clients send the requests, one at a time each, and the
instructions each process executed in user space (the kernel's work, the
system calls, is not counted) are divided by the requests.

    bench/request_instructions.py get|window|post [requests]

`get` reads 100 sessions of one message, `window` 100 sessions holding a
full window (twelve messages of a chat, as bench/compare's full-window
row); `post` sends a turn of two messages to one of 100 sessions, so that
their windows fill and fold with the built-in summarizer as under
bench/compare's POST rows (Redis with appendonly yes, appendfsync
everysec). MOTORHEAD_BINARY picks the build: run two builds one after the
other to compare them. Also prints the Redis commands a request caused
(INFO commandstats).
"""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [BENCH, os.path.join(os.path.dirname(BENCH), "tests", "http")]
from append_script_cost import (ROOT, Instructions, callgrind_prefix,  # noqa: E402
                                start_redis)
from harness import PortReservation  # noqa: E402

SESSIONS = 100
CLIENTS = 8
TURN = (b'{"messages":[{"role":"Human","content":"where can I dance salsa '
        b'tonight in Cali?"},{"role":"AI","content":"Try the clubs on '
        b'Avenida Sexta; most of them open at nine."}]}')

# What bench/compare's full-window row reads: twelve messages, the
# server's default window.
FULL_WINDOW = json.dumps({"messages": [
    {"role": "Human" if i % 2 == 0 else "AI",
     "content": f"turn {i // 2}: "
                + ("where can I dance salsa tonight in Cali?" if i % 2 == 0
                   else "Try the clubs on Avenida Sexta; most of them open "
                        "at nine.")}
    for i in range(12)]}).encode()
# The reads, by the prefix of the sessions they read.
READS = {"get": "g", "window": "w"}


def wait_for(check):
    for _ in range(600):  # valgrind takes seconds to start a process
        try:
            return check()
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.1)
    raise SystemExit("the server under valgrind did not start")


def healthy(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/healthz")
    if connection.getresponse().status != 200:
        raise RuntimeError("not ready")


def send(port, kind, requests, first):
    """`requests` requests on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for n in range(first, first + requests):
        session = n % SESSIONS
        if kind in READS:
            connection.request("GET", f"/sessions/{READS[kind]}{session}/memory")
        else:
            connection.request("POST", f"/sessions/s{session}/memory", body=TURN,
                               headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{kind} answered {response.status}")


def measure(kind, requests):
    workdir = tempfile.mkdtemp(prefix="request-instructions.")
    held = [PortReservation(), PortReservation()]
    redis_port, http_port = (reservation.port for reservation in held)
    redis_server, redis = start_redis(workdir, redis_port,
                                      callgrind_prefix(workdir))
    server = None
    try:
        # Under valgrind every step is ~50 times slower: the timeouts grow.
        env = dict(os.environ, PORT=str(http_port), MOTORHEAD_HOST="127.0.0.1",
                   REDIS_URL=f"redis://127.0.0.1:{redis_port}",
                   MOTORHEAD_REDIS_TIMEOUT_MS="30000",
                   MOTORHEAD_REQUEST_TIMEOUT_MS="120000")
        binary = os.environ.get("MOTORHEAD_BINARY",
                                os.path.join(ROOT, "build", "motorhead"))
        server = subprocess.Popen([*callgrind_prefix(workdir), binary], env=env,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_for(lambda: healthy(http_port))
        one = b'{"messages":[{"role":"Human","content":"a warm session"}]}'
        warm = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
        for prefix, body in (("g", one), ("s", one), ("w", FULL_WINDOW)):
            for i in range(SESSIONS):
                warm.request("POST", f"/sessions/{prefix}{i}/memory", body=body,
                             headers={"Content-Type": "application/json"})
                warm.getresponse().read()
        send(http_port, kind, 2 * SESSIONS, 0)
        counters = [Instructions(server.pid, workdir),
                    Instructions(redis_server.pid, workdir)]
        redis("CONFIG", "RESETSTAT")
        for counter in counters:
            counter.start()
        each = requests // CLIENTS
        clients = [threading.Thread(target=send,
                                    args=(http_port, kind, each, 7 * i))
                   for i in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        served = each * CLIENTS
        spent = [counter.stop()[0] / served for counter in counters]
        stats = redis("INFO", "commandstats").decode()
        commands = {m.group(1): int(m.group(2)) / served for m in re.finditer(
            r"cmdstat_(\w+):calls=(\d+)", stats)
            if m.group(1) not in ("info", "config")}
    finally:
        for process in (server, redis_server):
            if process:
                process.terminate()
                process.wait()
    version = subprocess.run([binary, "--version"], capture_output=True,
                             text=True).stdout.strip()
    print(f"{kind}, {served} requests from {CLIENTS} clients over "
          f"{SESSIONS} sessions ({version})")
    print(f"server: {spent[0]:,.0f} instructions per request")
    print(f"Redis: {spent[1]:,.0f} instructions per request")
    print("Redis commands per request: " + ", ".join(
        f"{name} {count:.2f}" for name, count in sorted(commands.items())))


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in (*READS, "post"):
        raise SystemExit(__doc__)
    measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4000)


if __name__ == "__main__":
    main()
