"""A client for the drain check of scripts/test-container: WORKERS threads
POST to BASE, each request on a connection of its own (so that none is
an idle keep-alive connection the drain may close), until the server
stops taking connections. A reset, or a connection closed before its
answer, fails it; a refused connection is the drain's end. Prints what it
saw; exit status 1 on any failure.
    python3 drain_client.py BASE WORKERS"""

import http.client
import json
import sys
import threading
import urllib.parse


def main():
    base, workers = sys.argv[1], int(sys.argv[2])
    url = urllib.parse.urlsplit(base)
    answered, failures, stop = [0], [], threading.Event()
    lock = threading.Lock()

    def work(worker):
        n = 0
        while not stop.is_set():
            n += 1
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            body = json.dumps({"messages": [{"role": "Human",
                                             "content": f"{worker}-{n}"}]})
            try:
                conn.request("POST", f"/sessions/drain-{worker}/memory", body,
                             {"Content-Type": "application/json"})
                conn.getresponse().read()
                with lock:
                    answered[0] += 1
            except ConnectionRefusedError:
                stop.set()  # the listener is closed: the drain is over
            except (ConnectionResetError, http.client.RemoteDisconnected,
                    BrokenPipeError) as err:
                with lock:
                    failures.append(f"{type(err).__name__} on request {n}")
            except OSError:
                stop.set()  # no route once the container is gone
            finally:
                conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{answered[0]} answered, {len(failures)} reset or cut off"
          + (f": {failures[:3]}" if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
