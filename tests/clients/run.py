"""Runs the client acceptance suite: installs the pinned npm packages when
they are missing, starts Redis and two servers (keys off, keys on) on free
loopback ports, and runs the Node tests of this directory against them."""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))

from harness import Motorhead, RedisServer  # noqa: E402

# Flowise's components package pulls in hundreds of integrations; only its
# Motörhead node and the helpers it imports are used, so the package is
# unpacked on its own and the few modules those need are in package.json.
FLOWISE = "flowise-components@1.5.3"
FLOWISE_DIR = os.path.join(HERE, "node_modules", ".flowise-components-1.5.3")


def install_packages():
    lock = os.path.join(HERE, "package-lock.json")
    installed = os.path.join(HERE, "node_modules", ".package-lock.json")
    if not os.path.exists(installed) or \
            os.path.getmtime(installed) < os.path.getmtime(lock):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund",
                        "--ignore-scripts", "--legacy-peer-deps"],
                       cwd=HERE, check=True)
    if not os.path.isdir(FLOWISE_DIR):
        unpack_flowise()


def unpack_flowise():
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", FLOWISE, "--silent"], cwd=scratch,
                       check=True, stdout=subprocess.DEVNULL)
        (archive,) = [name for name in os.listdir(scratch)
                      if name.endswith(".tgz")]
        with tarfile.open(os.path.join(scratch, archive)) as tar:
            tar.extractall(scratch)
        shutil.move(os.path.join(scratch, "package"), FLOWISE_DIR)


def main():
    install_packages()
    key = "k-" + uuid.uuid4().hex
    scoped_key = "s-" + uuid.uuid4().hex
    # Three services, each with its Redis: nodes that share a Redis are one
    # cluster, and one service's nodes share their settings.
    redises = [RedisServer(durable=False) for _ in range(3)]
    for redis in redises:
        redis.start()
    servers = [Motorhead(redises[0].url),
               Motorhead(redises[1].url, MOTORHEAD_API_KEYS=key,
                         MOTORHEAD_LONG_TERM_MEMORY="true"),
               Motorhead(redises[2].url,
                         MOTORHEAD_API_KEYS=f"{key},{scoped_key}:tenant")]
    try:
        for server in servers:
            server.start()
        env = dict(os.environ,
                   MOTORHEAD_URL=f"http://127.0.0.1:{servers[0].port}",
                   MOTORHEAD_KEYED_URL=f"http://127.0.0.1:{servers[1].port}",
                   MOTORHEAD_KEY=key,
                   MOTORHEAD_SCOPED_URL=f"http://127.0.0.1:{servers[2].port}",
                   MOTORHEAD_SCOPED_KEY=scoped_key,
                   FLOWISE_COMPONENTS_DIR=FLOWISE_DIR)
        # Arguments name the test files to run (admin_page.test.js, ...).
        tests = sys.argv[1:] or sorted(name for name in os.listdir(HERE)
                                       if name.endswith(".test.js"))
        result = subprocess.run(["node", "--test", *tests], cwd=HERE, env=env)
    finally:
        for server in servers:
            server.close()
        for redis in redises:
            redis.remove()
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
