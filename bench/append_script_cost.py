#!/usr/bin/env python3
"""Redis' CPU for one call of the server's append script, the cost every
POST puts on the one Redis all nodes share.

The script is caught as the server sends it (MONITOR during the second
POST of a turn of two messages to a session), then replayed over 100
sessions, each call with message ids of its own, all calls sent at once
so that Redis never waits for this client: Redis' main thread CPU (INFO
cpu) over the calls is the script's cost. A trivial script called with
the same arguments gives the floor, what any EVALSHA of that size costs
(reading and parsing it, turning the arguments into Lua strings). Redis
runs pinned to one core and this client to the other, with appendonly yes and appendfsync everysec
(fsync is measured by bench/compare, under load).

    bench/append_script_cost.py [calls] [rounds]
    bench/append_script_cost.py --instructions [calls]

CPU time on a shared virtual machine varies by 20 % between rounds, more
than most changes of a script move it. With --instructions Redis runs
under callgrind (valgrind), which counts the instructions Redis executes
for the calls, the same in every run: one round, no pinning, and per
function of Redis (callgrind_annotate on the dump it names) where they go.
APPEND_SCRIPT=FILE measures the Lua script in FILE instead of the
server's, called with the server's arguments: a candidate, before it is
built in. FILLED_IDS=N gives each session the ids of N messages first, as
a long chat has them; REDIS_ARGS adds settings to redis-server's command
line (say "--hash-max-listpack-entries 64", docs/redis.md).

Prints the median of the rounds, in µs per call, after a round that lets
Redis grow its memory; the bytes each call adds to the AOF (the same
commands go to replicas); and the commands the script ran per call (INFO
commandstats).
"""
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from harness import PortReservation  # noqa: E402

SESSIONS = 100
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self.file.read(size + 2)[:-2]
        return [self.read() for _ in range(int(rest))]

    def __call__(self, *args):
        self.sock.sendall(encode(args))
        reply = self.read()
        if isinstance(reply, RuntimeError):
            raise reply
        return reply


def wait_until_up(url):
    for _ in range(100):
        try:
            return urllib.request.urlopen(url)
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}")


def catch_append_call(redis_port, http_port):
    """The append script's text (or APPEND_SCRIPT's) and one call of it
    (EVALSHA's arguments), as the server sends them for a POST of two
    messages to a live session."""
    # A window of 12, whatever the environment says: the two POSTs must
    # not fold, or the fold's script could be the one caught.
    env = dict(os.environ, PORT=str(http_port), MOTORHEAD_HOST="127.0.0.1",
               REDIS_URL=f"redis://127.0.0.1:{redis_port}",
               MOTORHEAD_MAX_WINDOW_SIZE="12")
    binary = os.environ.get("MOTORHEAD_BINARY", os.path.join(ROOT, "build", "motorhead"))
    server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{http_port}/healthz")
        monitor = subprocess.Popen(["redis-cli", "-p", str(redis_port), "monitor"],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        body = json.dumps({"messages": [
            {"role": "Human", "content": "where can I dance salsa tonight in Cali?"},
            {"role": "AI", "content": "Try the clubs on Avenida Sexta; most of them open at nine."}]})
        # The second POST is caught: a live session's, as most are.
        for _ in range(2):
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{http_port}/sessions/caught/memory",
                data=body.encode(), headers={"Content-Type": "application/json"}))
        time.sleep(0.3)
        monitor.terminate()
        lines = monitor.communicate()[0].splitlines()
    finally:
        server.terminate()
        server.wait()

    def arguments(line):
        return [a.encode().decode("unicode_escape")
                for a in re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("]", 1)[1])]
    call = arguments([l for l in lines if '"EVALSHA"' in l and "{caught}" in l][-1])
    loads = [arguments(l)[2] for l in lines if '"SCRIPT" "LOAD"' in l]
    text = next(t for t in loads if hashlib.sha1(t.encode()).hexdigest() == call[1])
    if os.environ.get("APPEND_SCRIPT"):
        with open(os.environ["APPEND_SCRIPT"]) as candidate:
            text = candidate.read()
    return text, call[2:]


class Instructions:
    """Counts the instructions Redis (under callgrind, started with
    instrumentation off) executes between start() and stop()."""

    def __init__(self, pid, workdir):
        self.pid, self.workdir, self.dumps = pid, workdir, 0

    def control(self, *args):
        subprocess.run(["callgrind_control", *args, str(self.pid)],
                       check=True, capture_output=True)

    def start(self):
        self.control("-z")
        self.control("-i", "on")

    def stop(self):
        self.control("-i", "off")
        self.control("-d")
        self.dumps += 1
        path = os.path.join(self.workdir, f"callgrind.out.{self.pid}.{self.dumps}")
        with open(path) as dump:
            total = next(int(line.split()[1]) for line in dump
                         if line.startswith("totals:"))
        return total, path


def fill_ids(redis, key, count):
    """Stores `count` message ids in the ids hash `key`, two at a time, as
    POSTs of a turn do (a hash past hash-max-listpack-entries converts as
    it grows)."""
    for first in range(0, count, 2):
        fields = []
        for seq in range(first, min(count, first + 2)):
            fields += [f"00000000-0000-4000-8000-{seq:012d}", str(seq + 1)]
        redis("HSET", key, *fields)


def cost(redis, script, call, calls, counter=None):
    """Redis' main-thread CPU per call of `script` with `call`'s arguments
    spread over the sessions, in µs, the bytes each call adds to the AOF
    (what replicas receive too), and the commands run per call."""
    redis("FLUSHALL")
    sha = redis("SCRIPT", "LOAD", script).decode()
    numkeys = int(call[0])
    keys, argv = call[1:1 + numkeys], call[1 + numkeys:]
    filled_ids = int(os.environ.get("FILLED_IDS", "0"))
    for i in range(SESSIONS):  # the claim the fence checks
        redis("HSET", keys[1].replace("{caught}", f"{{caught-{i}}}"), "epoch", argv[0])
        fill_ids(redis, keys[2].replace("{caught}", f"{{caught-{i}}}"),
                 filled_ids)
    requests = []
    for n in range(calls):
        session = f"{{caught-{n % SESSIONS}}}"
        ids = {}
        fresh = [session[1:-1] if a == "caught" else
                 UUID.sub(lambda m: ids.setdefault(m.group(0), f"id-{n}-{len(ids)}"),
                          a.replace("{caught}", session)) for a in keys + argv]
        requests.append(encode(["EVALSHA", sha, numkeys] + fresh))
    blob = b"".join(requests)

    def main_thread_cpu():
        info = redis("INFO", "cpu").decode()
        return sum(float(re.search(name + r":([\d.]+)", info).group(1))
                   for name in ("used_cpu_sys_main_thread", "used_cpu_user_main_thread"))
    def aof_size():
        info = redis("INFO", "persistence").decode()
        return int(re.search(r"aof_current_size:(\d+)", info).group(1))
    redis("CONFIG", "RESETSTAT")
    aof_before = aof_size()
    before = main_thread_cpu()
    if counter:
        counter.start()
    sender = threading.Thread(target=lambda: redis.sock.sendall(blob))
    sender.start()
    for _ in range(calls):
        reply = redis.read()
        if isinstance(reply, RuntimeError):
            raise SystemExit(f"the script failed: {reply}")
    sender.join()
    if counter:
        instructions, dump = counter.stop()
        print(f"{instructions / calls:,.0f} instructions per call "
              f"(callgrind_annotate --inclusive=yes {dump})")
    spent = main_thread_cpu() - before
    written = aof_size() - aof_before
    stats = redis("INFO", "commandstats").decode()
    commands = {m.group(1): int(m.group(2)) / calls for m in re.finditer(
        r"cmdstat_(\w+):calls=(\d+)", stats) if m.group(1) not in ("info", "config")}
    return 1e6 * spent / calls, written / calls, commands


def start_redis(workdir, port, prefix):
    """redis-server on `port`, run through `prefix` (taskset, valgrind),
    with the AOF on and never rewritten: the process and a client."""
    process = subprocess.Popen(
        [*prefix, "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
         "--auto-aof-rewrite-percentage", "0", "--dir", workdir,
         *os.environ.get("REDIS_ARGS", "").split()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):  # valgrind takes seconds to start it
        try:
            client = Redis(port)
            client("PING")
            return process, client
        except (OSError, RuntimeError):
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("redis-server did not start")


def measure_time(calls, rounds):
    with tempfile.TemporaryDirectory() as workdir:
        held = [PortReservation(), PortReservation()]
        redis_port, http_port = (reservation.port for reservation in held)
        redis_server, redis = start_redis(workdir, redis_port, ["taskset", "-c", "1"])
        try:
            os.sched_setaffinity(0, {0})
            script, call = catch_append_call(redis_port, http_port)
            runs = {"append script": [], "trivial script, same arguments": []}
            cost(redis, script, call, calls)  # Redis grows its memory
            for _ in range(rounds):
                spent, written, commands = cost(redis, script, call, calls)
                runs["append script"].append(spent)
                floor, _, _ = cost(redis, "return 1", call, calls)
                runs["trivial script, same arguments"].append(floor)
        finally:
            redis_server.terminate()
            redis_server.wait()
    print(f"{calls} calls over {SESSIONS} sessions, {rounds} rounds (median) "
          f"after one to warm up, {len(call) - 1} keys and arguments per call\n")
    print("| script | Redis CPU per call | runs |")
    print("|---|---:|---|")
    for name, values in runs.items():
        print(f"| {name} | {statistics.median(values):.1f} µs | "
              f"{', '.join(f'{v:.1f}' for v in values)} |")
    print(f"\nAOF bytes per call: {written:,.0f}")
    print("Commands per call: " + ", ".join(
        f"{name} {count:g}" for name, count in sorted(commands.items())
        if name not in ("flushall", "script")))


def callgrind_prefix(workdir):
    """Runs a process under callgrind with instrumentation off until an
    Instructions counter starts it; the dumps go to `workdir`."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={workdir}/callgrind.out.%p"]


def count_instructions(calls):
    # Kept: the dumps the output names are read with callgrind_annotate.
    workdir = tempfile.mkdtemp(prefix="append-script-cost.")
    held = [PortReservation(), PortReservation()]
    redis_port, http_port = (reservation.port for reservation in held)
    redis_server, redis = start_redis(workdir, redis_port,
                                      callgrind_prefix(workdir))
    try:
        script, call = catch_append_call(redis_port, http_port)
        counter = Instructions(redis_server.pid, workdir)
        print(f"{calls} calls over {SESSIONS} sessions, "
              f"{len(call) - 1} keys and arguments per call")
        print("append script: ", end="", flush=True)
        _, written, _ = cost(redis, script, call, calls, counter)
        print("trivial script, same arguments: ", end="", flush=True)
        cost(redis, "return 1", call, calls, counter)
        print(f"AOF bytes per call: {written:,.0f}")
    finally:
        redis_server.terminate()
        redis_server.wait()


def main():
    args = sys.argv[1:]
    if "--instructions" in args:
        args.remove("--instructions")
        count_instructions(int(args[0]) if args else 4000)
    else:
        measure_time(int(args[0]) if args else 60000,
                     int(args[1]) if len(args) > 1 else 3)


if __name__ == "__main__":
    main()
