"""The harness itself: the ports it holds are nobody else's, and no process
it starts outlives the test that started it, however that test ends."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import unittest

from harness import (FakeOpenAI, Motorhead, PortReservation, RedisServer,
                     TestCase, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))


def is_gone(pid):
    """Whether process `pid` has ended (a zombie nobody reaped yet counts:
    it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def run_tests(*cases):
    """Runs test cases (made inside a test, so that the loader does not
    collect them) as a suite: class fixtures included."""
    suite = unittest.TestSuite()
    for case in cases:
        suite.addTest(case)
    result = unittest.TestResult()
    suite.run(result)
    return result


def start_every_kind(pids):
    """Starts Redis, the fake provider and a motorhead; notes their PIDs."""
    redis = RedisServer(durable=False)
    redis.start()
    pids.append(redis.process.pid)
    provider = FakeOpenAI()
    pids.append(provider.process.pid)
    server = Motorhead(redis.url)
    server.start()
    pids.append(server.process.pid)


class ProcessesTest(TestCase):

    def test_a_set_up_that_raises_leaves_no_process_behind(self):
        pids = []

        class FailingSetUp(TestCase):
            def setUp(self):
                start_every_kind(pids)
                raise RuntimeError("setUp failed")

            def test_nothing(self):
                pass

        result = run_tests(FailingSetUp("test_nothing"))
        self.assertEqual(len(result.errors), 1, result.errors)
        self.assertEqual(len(pids), 3)
        self.assertEqual([pid for pid in pids if not is_gone(pid)], [])

    def test_a_set_up_class_that_raises_leaves_no_process_behind(self):
        pids = []

        class FailingSetUpClass(TestCase):
            @classmethod
            def setUpClass(cls):
                start_every_kind(pids)
                raise RuntimeError("setUpClass failed")

            def test_nothing(self):
                pass

        result = run_tests(FailingSetUpClass("test_nothing"))
        self.assertEqual(len(result.errors), 1, result.errors)
        self.assertEqual(len(pids), 3)
        self.assertEqual([pid for pid in pids if not is_gone(pid)], [])

    def test_a_server_a_test_left_running_is_stopped_after_it(self):
        pids = []

        class Forgetful(TestCase):
            def test_starts_and_forgets(self):
                start_every_kind(pids)

        result = run_tests(Forgetful("test_starts_and_forgets"))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual([pid for pid in pids if not is_gone(pid)], [])

    def test_a_class_server_lives_until_the_class_ends(self):
        seen = []

        class Shared(TestCase):
            @classmethod
            def setUpClass(cls):
                cls.redis = RedisServer(durable=False)
                cls.redis.start()

            def test_first(self):
                seen.append(self.redis.process.pid)

            def test_second(self):
                seen.append(self.redis.process.pid)
                self.assertFalse(is_gone(self.redis.process.pid))

        result = run_tests(Shared("test_first"), Shared("test_second"))
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(len(set(seen)), 1)
        self.assertTrue(is_gone(seen[0]))

    def test_a_server_a_test_starts_for_its_class_lives_until_it_ends(self):
        seen = []

        class Lazy(TestCase):
            def test_first(self):
                with self.class_scope():
                    type(self).redis = RedisServer(durable=False)
                    self.redis.start()
                seen.append(self.redis.process.pid)

            def test_second(self):
                self.assertFalse(is_gone(seen[0]))

        result = run_tests(Lazy("test_first"), Lazy("test_second"))
        self.assertTrue(result.wasSuccessful(), result.failures)
        self.assertTrue(is_gone(seen[0]))

    def test_servers_die_with_the_process_that_started_them(self):
        # A test process killed outright (a ctest timeout) runs no cleanup:
        # the kernel stops its children.
        script = textwrap.dedent("""
            import sys, time
            sys.path.insert(0, sys.argv[1])
            from harness import RedisServer
            redis = RedisServer(durable=False)
            redis.start()
            print(redis.process.pid, redis.dir, flush=True)
            time.sleep(60)
        """)
        runner = subprocess.Popen([sys.executable, "-c", script, HERE],
                                  stdout=subprocess.PIPE, text=True)
        try:
            redis_pid, redis_dir = runner.stdout.readline().split()
            redis_pid = int(redis_pid)
            # The killed runner cannot remove its Redis' folder.
            self.addCleanup(shutil.rmtree, redis_dir, True)
            self.assertFalse(is_gone(redis_pid))
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait()
            runner.stdout.close()
        self.assertTrue(wait_until(lambda: is_gone(redis_pid), timeout=5))


class PortsTest(TestCase):

    def test_a_reserved_port_is_nobody_elses(self):
        reservation = PortReservation()
        self.addCleanup(reservation.release)
        with socket.socket() as other, self.assertRaises(OSError):
            other.bind(("127.0.0.1", reservation.port))
        with self.assertRaises(OSError):
            PortReservation(reservation.port)

    def test_the_server_told_to_listen_there_can(self):
        reservation = PortReservation()
        self.addCleanup(reservation.release)
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", reservation.port))
            server.listen()
            socket.create_connection(("127.0.0.1", reservation.port),
                                     timeout=5).close()

    def test_a_reserved_port_refuses_connections(self):
        reservation = PortReservation()
        self.addCleanup(reservation.release)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", reservation.port),
                                     timeout=5).close()

    def test_a_server_gets_its_port_back_after_a_restart(self):
        redis = RedisServer(durable=False)
        redis.start()
        self.assertEqual(redis.command("PING"), "PONG")
        redis.stop()
        # Stopped, its port is still held for it.
        with socket.socket() as other, self.assertRaises(OSError):
            other.bind(("127.0.0.1", redis.port))
        redis.start()
        self.assertEqual(redis.command("PING"), "PONG")

    def test_a_cluster_node_holds_its_bus_port_too(self):
        redis = RedisServer(durable=False, cluster_bus=True)
        with socket.socket() as other, self.assertRaises(OSError):
            other.bind(("127.0.0.1", redis.port + 10000))
        redis.extra_args = ["--cluster-enabled", "yes"]
        redis.start()
        self.assertIn("cluster_enabled:1", redis.command("INFO", "cluster"))


if __name__ == "__main__":
    unittest.main()
