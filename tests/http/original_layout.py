"""Writes a Redis as the original Motörhead (Rust, getmetal/motorhead, main
branch) writes it, command for command, for the tests of reading and
migrating its data:

- POST /sessions/{id}/memory (src/memory.rs): SET context:{id} when a
  context is given; ZADD sessions (or sessions:{namespace}) with the Unix
  time in seconds; LPUSH session:{id} of each message as "role: content",
  in the order posted (so the newest is first);
- a compaction (src/reducer.rs): LTRIM session:{id} 0 half, SET
  context:{id} to the new summary, INCRBY tokens:{id} by the tokens the
  model reported;
- long-term memory (src/long_term_memory.rs): per message, HSET
  motorhead:{nanoid} with session, vector (float32, little-endian),
  content and role."""

import random
import string
import struct
import time

NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"


def nanoid(size=21):
    return "".join(random.choice(NANOID_ALPHABET) for _ in range(size))


def encode_vector(values):
    return struct.pack(f"<{len(values)}f", *values)


class OriginalServer:
    """Does to `redis` (a harness RedisServer) what the original's
    handlers do."""

    def __init__(self, redis):
        self.redis = redis

    def post(self, session, messages, context=None, namespace=None, at=None):
        """`messages`: (role, content) pairs, oldest first, as a POST
        lists them."""
        if context is not None:
            self.redis.command("SET", f"context:{session}", context)
        sessions = f"sessions:{namespace}" if namespace else "sessions"
        self.redis.command("ZADD", sessions, int(at or time.time()), session)
        self.redis.command("LPUSH", f"session:{session}",
                           *(f"{role}: {content}" for role, content in messages))

    def compact(self, session, window_size, summary, tokens):
        """The reducer's write once the window overflowed: the list keeps
        its newest half + 1 entries."""
        half = window_size // 2
        self.redis.command("LTRIM", f"session:{session}", 0, half)
        self.redis.command("SET", f"context:{session}", summary)
        self.redis.command("INCRBY", f"tokens:{session}", tokens)

    def index(self, session, role, content, vector):
        """One message's long-term memory hash; returns its key."""
        key = f"motorhead:{nanoid()}"
        self.redis.command("HSET", key, "session", session,
                           "vector", encode_vector(vector),
                           "content", content, "role", role)
        return key
