#!/usr/bin/env python3
"""A deterministic OpenAI-compatible server for tests and benchmarks.

Answers POST .../chat/completions (OpenAI, compatible servers and Azure's
/openai/deployments/{id}/chat/completions) with a summary computed from the
prompt, and POST .../embeddings with deterministic vectors (hashed words,
where a small thesaurus maps synonyms to one word, so that "automobile"
lands near "car"). It records every request. Knobs, set with POST /_control:

  latency_ms   delay before every answer
  script       answers for the next requests, in order, each one of
               {"status": 429, "retry_after": "1"}, {"status": 500},
               {"hang": true} (never answers), {"malformed": true}
  fail_every   every n-th chat request answers 500 (0: never)

Knobs count chat and embedding requests alike.
GET /_requests lists the recorded requests, GET /_stats counts them and
the most answered at once; POST /_reset forgets everything.

  fake_openai.py [--port N]   prints the port it listens on (N, or one the
                              system picks), then serves
"""

import argparse
import hashlib
import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

MARK_SUMMARY = "Current summary:\n"
MARK_LINES = "New lines of conversation:\n"
MARK_END = "\nNew summary:"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.latency_ms = 0
        self.script = []
        self.fail_every = 0
        self.requests = []
        self.call_count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.hung = threading.Event()


STATE = State()


def summarize(prompt):
    """The previous summary plus the start of each new line; "NONE" when
    every line says MEANINGLESS."""
    start = prompt.rfind(MARK_SUMMARY)
    middle = prompt.rfind(MARK_LINES)
    end = prompt.rfind(MARK_END)
    if start < 0 or middle < start or end < middle:
        return "summary of a custom prompt of %d words" % len(prompt.split())
    previous = prompt[start + len(MARK_SUMMARY):middle].strip()
    lines = [l for l in prompt[middle + len(MARK_LINES):end].split("\n") if l]
    if lines and all("MEANINGLESS" in l for l in lines):
        return "NONE"
    fresh = "; ".join(line[:60] for line in lines)
    summary = (previous + " + " + fresh) if previous else fresh
    return summary[-1500:]


SYNONYMS = {
    "car": ["automobile", "vehicle", "cars"], "rent": ["hire", "renting", "rental"],
    "hotel": ["hotels", "lodging", "accommodation"],
    "budget": ["cost", "costs", "price", "dollars", "dollar"],
    "visa": ["permit"], "canadian": ["canada", "canadians"],
    "performance": ["show", "kabuki", "theatre", "theater"],
    "doctor": ["physician"], "headache": ["migraine"],
    "running": ["jogging", "runs", "run"], "knee": ["joint"], "eat": ["food"],
    "marathon": ["race"], "sql": ["database", "query"],
    "deployment": ["shipping"], "mobile": ["smartphone", "phones"],
    "website": ["web", "site"], "slow": ["slowly"], "go": ["golang"],
}
CANONICAL = {word: key for key, words in SYNONYMS.items() for word in words}
STOPWORDS = set("a an the i my me to in on of for and or is are be can do does "
                "should what how about with at by it this that you your our "
                "we there up".split())
DIMENSIONS = 128


def embed(text):
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        if word in STOPWORDS:
            continue
        word = CANONICAL.get(word, word)
        digest = hashlib.md5(word.encode()).digest()
        vector[digest[0] % DIMENSIONS] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def count_tokens(text):
    return len(re.findall(r"\w+|[^\w\s]", text))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        # Headers and body go out in two writes: without this, Nagle's
        # algorithm and delayed ACKs hold the body back for 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        path = urlsplit(self.path).path
        with STATE.lock:
            if path == "/_requests":
                return self.reply(200, STATE.requests)
            if path == "/_stats":
                return self.reply(200, {"requests": len(STATE.requests),
                                        "calls": STATE.call_count,
                                        "in_flight": STATE.in_flight,
                                        "max_in_flight": STATE.max_in_flight})
        self.reply(404, {"error": {"message": "no such route"}})

    def do_POST(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path == "/_reset":
            with STATE.lock:
                STATE.hung.set()
                STATE.reset()
            return self.reply(200, {"ok": True})
        if url.path == "/_control":
            knobs = json.loads(raw or b"{}")
            with STATE.lock:
                STATE.latency_ms = knobs.get("latency_ms", STATE.latency_ms)
                STATE.script = list(knobs.get("script", STATE.script))
                STATE.fail_every = knobs.get("fail_every", STATE.fail_every)
            return self.reply(200, {"ok": True})
        if url.path.endswith("/chat/completions"):
            return self.chat(url, raw)
        if url.path.endswith("/embeddings"):
            return self.chat(url, raw, embeddings=True)
        self.reply(404, {"error": {"message": "no such route"}})

    def chat(self, url, raw, embeddings=False):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with STATE.lock:
            STATE.call_count += 1
            number = STATE.call_count
            step = STATE.script.pop(0) if STATE.script else {}
            if not step and STATE.fail_every and number % STATE.fail_every == 0:
                step = {"status": 500}
            latency = STATE.latency_ms
            hung = STATE.hung
            record = {"path": url.path, "query": parse_qs(url.query),
                      "headers": {k.lower(): v for k, v in self.headers.items()},
                      "body": body, "time": time.time(), "answer": None}
            STATE.requests.append(record)
            STATE.in_flight += 1
            STATE.max_in_flight = max(STATE.max_in_flight, STATE.in_flight)
        try:
            if step.get("hang"):
                hung.wait(300)
                return
            time.sleep(latency / 1000.0)
            if "status" in step:
                headers = {}
                if "retry_after" in step:
                    headers["Retry-After"] = step["retry_after"]
                record["answer"] = step["status"]
                return self.reply(step["status"], {"error": {
                    "message": "scripted failure %d" % step["status"],
                    "type": "fake"}}, headers)
            if step.get("malformed"):
                record["answer"] = "malformed"
                return self.reply(200, b"{\"choices\": [")
            if embeddings:
                return self.embeddings(body, record)
            if not body or "messages" not in body:
                return self.reply(400, {"error": {"message": "no messages"}})
            prompt = body["messages"][-1]["content"]
            content = summarize(prompt)
            usage = {"prompt_tokens": count_tokens(prompt),
                     "completion_tokens": count_tokens(content)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            record["answer"] = {"content": content, "usage": usage}
            self.reply(200, {"id": "chatcmpl-%d" % number, "object": "chat.completion",
                             "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant",
                                                      "content": content}}],
                             "usage": usage})
        finally:
            with STATE.lock:
                STATE.in_flight -= 1


    def embeddings(self, body, record):
        texts = (body or {}).get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            return self.reply(400, {"error": {"message": "no input"}})
        tokens = sum(count_tokens(t) for t in texts)
        record["answer"] = {"embeddings": len(texts), "usage": {"total_tokens": tokens}}
        self.reply(200, {"object": "list", "model": body.get("model"),
                         "data": [{"object": "embedding", "index": i,
                                   "embedding": embed(t)}
                                  for i, t in enumerate(texts)],
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
