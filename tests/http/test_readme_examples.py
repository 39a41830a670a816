"""The README's API tour, run as written: each of its curl commands, in
order, through a shell, against a fresh server; each answer compared with
the one the README shows after the command.

What the test reads (README.md):

- The tour is every ```bash block between the heading "## The API" and the
  next "## " heading.
- In it, a line that starts with `curl ` is a command; a line ending in `\\`
  continues onto the next. `localhost:8000` in it becomes the test server's
  address, and curl is given `-sS -o FILE -D FILE -w %{http_code}` right
  after its name, to keep the body, headers and status apart; nothing else
  of the command changes.
- A line of NAME=value settings followed by `scripts/run` stops the server
  and starts it again with those settings, on the same Redis.
- A comment that starts with `{`, `[` or a status and one of those, written
  right after a command (at the end of its last line, or on the next line),
  is the answer the command must get: `# {"status":"Ok"}`, or
  `# 404 {"error":"…"}`. It goes on over the next comment lines until its
  brackets close. The status is 200 when none is written. A command
  without such a line must be answered 200; its body is not compared.
- Every other comment is prose; blank lines separate. Any other line fails
  the test, so that the tour stays something this test can run.

Placeholders, for what differs from run to run:

- `…` (one character, U+2026) inside a JSON string stands for any text:
  `"…"` is any string, `"no session …"` any string that starts so.
- `…` where a JSON value goes stands for any number: `{"now":…}`.
- `...` (three dots) as the last element of an array stands for zero or
  more elements more, as the last member of an object for zero or more
  members more: `[...]` is any array, `{...}` any object.
- Everything else must be equal as JSON (objects in any member order).

Every answer is also checked against the OpenAPI document, as everywhere in
the harness."""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import openapi_check
from harness import Motorhead, RedisServer, TestCase

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "README.md")
TOUR_HEADING = "## The API"
README_ADDRESS = "localhost:8000"

ANY_TEXT = "…"
# Stand-ins for the placeholders while the expected answer is parsed as JSON.
ANY_NUMBER = "\x00any number"
MORE = "\x00more"


# -- reading the tour ---------------------------------------------------------

class Command:
    """A curl command of the tour, or a restart (`settings` set)."""

    def __init__(self, line_number, text, settings=None):
        self.line_number = line_number
        self.text = text
        self.settings = settings
        self.expected = None  # the answer's text as the README writes it
        self.status = 200

    def __repr__(self):
        return f"README.md:{self.line_number}: {self.text}"


def tour_lines(readme_text):
    """(line number, line) of every line of the tour's bash blocks."""
    lines = readme_text.split("\n")
    in_section = in_block = False
    found = []
    for number, line in enumerate(lines, 1):
        if line.startswith("## "):
            in_section = line.strip() == TOUR_HEADING
            continue
        if not in_section:
            continue
        if line.startswith("```"):
            in_block = not in_block and line.strip() == "```bash"
            continue
        if in_block:
            found.append((number, line))
    return found


def split_comment(line):
    """(code, comment) of a shell line: the comment starts at a `#` that
    follows a blank outside quotes."""
    quote = None
    for at, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1] in " \t"):
            return line[:at].rstrip(), line[at + 1:].strip()
    return line.rstrip(), None


ANSWER_START = re.compile(r"^(?:(\d{3}) )?([\[{].*)$")
RESTART = re.compile(r"^((?:[A-Z][A-Z0-9_]*=\S+ )+)scripts/run$")


def in_strings(text):
    """For each character of JSON-like `text`, whether it belongs to a
    string (its quotes included)."""
    inside = escaped = False
    mask = []
    for char in text:
        if inside:
            mask.append(True)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        else:
            inside = char == '"'
            mask.append(inside)
    return mask


def brackets_open(text):
    """How many brackets `text` leaves open, strings skipped."""
    return sum((char in "[{") - (char in "]}")
               for char, quoted in zip(text, in_strings(text)) if not quoted)


def parse_tour(readme_text):
    """The tour's commands in order, with the answers the README shows."""
    commands = []
    lines = tour_lines(readme_text)
    at = 0
    # The command whose answer may follow, and the answer being read.
    answer_for, answer = None, None
    while at < len(lines):
        number, line = lines[at]
        at += 1
        stripped = line.strip()
        if answer is not None:  # an answer that spans lines
            if not stripped.startswith("#"):
                raise ValueError(f"README.md:{number}: the answer to "
                                 f"{answer_for!r} ends unclosed")
            answer += " " + stripped[1:].strip()
            if brackets_open(answer) <= 0:
                answer_for.expected, answer_for, answer = answer, None, None
            continue
        if not stripped:
            answer_for = None
            continue
        if stripped.startswith("#"):
            match = ANSWER_START.match(stripped[1:].strip())
            if match and answer_for is not None:
                if match.group(1):
                    answer_for.status = int(match.group(1))
                answer = match.group(2)
                if brackets_open(answer) <= 0:
                    answer_for.expected, answer_for, answer = \
                        answer, None, None
            else:
                answer_for = None  # prose
            continue
        restart = RESTART.match(stripped)
        if restart:
            settings = dict(pair.split("=", 1)
                            for pair in restart.group(1).split())
            commands.append(Command(number, stripped, settings))
            answer_for = None
            continue
        if not stripped.startswith("curl "):
            raise ValueError(f"README.md:{number}: neither a curl command, a "
                             f"restart, a comment nor blank: {line!r}")
        text = line
        while text.endswith("\\"):
            if at >= len(lines):
                raise ValueError(f"README.md:{number}: `\\` at the end")
            text += "\n" + lines[at][1]
            at += 1
        code, comment = split_comment(text.split("\n")[-1])
        text = "\n".join(text.split("\n")[:-1] + [code]).strip()
        command = Command(number, text)
        commands.append(command)
        answer_for = command
        if comment is not None:
            match = ANSWER_START.match(comment)
            if match:
                if match.group(1):
                    command.status = int(match.group(1))
                answer = match.group(2)
                if brackets_open(answer) <= 0:
                    command.expected, answer_for, answer = answer, None, None
            else:
                answer_for = None
    if answer is not None:
        raise ValueError(f"the answer to {answer_for!r} ends unclosed")
    return commands


# -- placeholders -------------------------------------------------------------

def expected_json(text):
    """The README's answer as JSON, its placeholders replaced by stand-ins:
    `…` as a value by ANY_NUMBER, `...` as the last element of an array by
    MORE, as the last member of an object by a member named MORE."""
    out, stack = [], []
    quoted = in_strings(text)
    at = 0
    while at < len(text):
        char = text[at]
        if quoted[at]:
            out.append(char)
            at += 1
            continue
        if char in "[{":
            stack.append(char)
        elif char in "]}":
            stack.pop()
        elif text.startswith("...", at):
            if not stack:
                raise ValueError(f"`...` outside an array or object: {text}")
            out.append(json.dumps(MORE) + (": null" if stack[-1] == "{"
                                           else ""))
            at += 3
            continue
        elif char == ANY_TEXT:
            out.append(json.dumps(ANY_NUMBER))
            at += 1
            continue
        out.append(char)
        at += 1
    return json.loads("".join(out))


def differences(expected, actual, where="answer"):
    """Where `actual` does not match `expected` (from expected_json)."""
    if expected == ANY_NUMBER:
        if isinstance(actual, (int, float)) and not isinstance(actual, bool):
            return []
        return [f"{where}: {actual!r} is not a number"]
    if isinstance(expected, str) and ANY_TEXT in expected:
        pattern = ".*".join(map(re.escape, expected.split(ANY_TEXT)))
        if isinstance(actual, str) and re.fullmatch(pattern, actual,
                                                    re.DOTALL):
            return []
        return [f"{where}: {actual!r} does not match {expected!r}"]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: {actual!r} is not an array"]
        more = bool(expected) and expected[-1] == MORE
        items = expected[:-1] if more else expected
        if len(actual) < len(items) or (not more and len(actual) > len(items)):
            return [f"{where}: {len(actual)} elements, not "
                    f"{len(items)}{' or more' if more else ''}: {actual!r}"]
        found = []
        for index, item in enumerate(items):
            found += differences(item, actual[index], f"{where}[{index}]")
        return found
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {actual!r} is not an object"]
        more = MORE in expected
        members = {k: v for k, v in expected.items() if k != MORE}
        found = [f"{where}: no member {key!r}" for key in members
                 if key not in actual]
        if not more:
            found += [f"{where}: a member {key!r} the README does not show"
                      for key in actual if key not in members]
        for key, value in members.items():
            if key in actual:
                found += differences(value, actual[key], f"{where}.{key}")
        return found
    if expected != actual or isinstance(expected, bool) != isinstance(
            actual, bool):
        return [f"{where}: {actual!r} instead of {expected!r}"]
    return []


# -- running it ---------------------------------------------------------------

def curl_target(text):
    """(method, URL) of a curl command, for the OpenAPI check."""
    args = shlex.split(text.replace("\\\n", " "))
    method, url, data = None, None, False
    for at, arg in enumerate(args):
        if arg in ("-X", "--request"):
            method = args[at + 1]
        elif arg in ("-d", "--data", "--data-raw", "--data-binary"):
            data = True
        elif README_ADDRESS in arg or arg.startswith("http"):
            url = arg
    return method or ("POST" if data else "GET"), url


class ReadmeTourTest(TestCase):
    """The tour on a fresh Redis and server with the default settings."""

    def setUp(self):
        with open(README, encoding="utf-8") as readme:
            self.commands = parse_tour(readme.read())
        self.redis = RedisServer(durable=False)
        self.redis.start()
        self.server = None
        self.start_server({})
        self.files = tempfile.mkdtemp(prefix="motorhead-readme-")

    def tearDown(self):
        if self.server:
            self.server.close()
        shutil.rmtree(self.files, ignore_errors=True)

    def start_server(self, settings):
        server = Motorhead(self.redis.url, **settings)
        # The defaults the tour assumes, whatever this environment sets
        # (but where the harness put the server, and the tokenizer files).
        kept = {"MOTORHEAD_HOST", "MOTORHEAD_TOKENIZER_DIR", *settings}
        for name in list(server.env):
            if (name.startswith(("OPENAI_", "AZURE_", "MOTORHEAD_"))
                    and name not in kept):
                del server.env[name]
        server.start()
        self.server = server

    def run_curl(self, command):
        """Runs the command through bash: (status, body, headers)."""
        body = os.path.join(self.files, "body")
        headers = os.path.join(self.files, "headers")
        for stale in (body, headers):
            if os.path.exists(stale):
                os.remove(stale)
        address = f"127.0.0.1:{self.server.port}"
        text = command.text.replace(README_ADDRESS, address)
        assert text.startswith("curl ")
        text = ("curl -sS -o " + shlex.quote(body) + " -D "
                + shlex.quote(headers) + " -w '%{http_code}' " + text[5:])
        run = subprocess.run(["bash", "-c", text], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(run.returncode, 0,
                         f"{command!r}: curl failed: {run.stderr}")
        text_body = ""
        if os.path.exists(body):  # curl makes no file for an empty body
            with open(body, encoding="utf-8") as answer:
                text_body = answer.read()
        with open(headers, encoding="latin-1", newline="") as answer:
            lines = answer.read().split("\r\n")
        answer_headers = dict(line.split(": ", 1) for line in lines[1:]
                              if ": " in line)
        return int(run.stdout), text_body, answer_headers

    def test_the_tour_answers_as_the_readme_shows(self):
        self.assertGreater(len(self.commands), 10, "no tour found")
        failures = []
        for command in self.commands:
            if command.settings is not None:
                self.server.close()
                self.start_server(command.settings)
                continue
            status, body, headers = self.run_curl(command)
            method, url = curl_target(command.text)
            found = []
            try:
                openapi_check.check(method, url.split(README_ADDRESS, 1)[-1],
                                    status, headers, body)
            except AssertionError as error:
                found.append(f"not as the OpenAPI document says: {error}")
            if status != command.status:
                found.append(f"status {status} instead of {command.status}")
            if command.expected is not None:
                try:
                    actual = json.loads(body)
                except ValueError:
                    found.append(f"not JSON: {body!r}")
                else:
                    found += differences(expected_json(command.expected),
                                         actual)
            if found:
                failures.append(f"{command!r}\n  got {status} {body}\n  "
                                + "\n  ".join(found))
        if failures:
            self.fail("the README's tour differs from the server's "
                      "answers:\n" + "\n".join(failures))


class PlaceholderTest(unittest.TestCase):
    """The comparison itself: what a placeholder matches, and what it does
    not."""

    def matches(self, expected, actual):
        return not differences(expected_json(expected), json.loads(actual))

    def test_any_string_and_a_prefix(self):
        self.assertTrue(self.matches('{"id":"…"}', '{"id":"6f1c-9a"}'))
        self.assertFalse(self.matches('{"id":"…"}', '{"id":7}'))
        self.assertTrue(self.matches('{"error":"no session …"}',
                                     '{"error":"no session chat-43"}'))
        self.assertFalse(self.matches('{"error":"no session …"}',
                                      '{"error":"no such route"}'))

    def test_any_number(self):
        self.assertTrue(self.matches('{"now":…}', '{"now":1795510014393}'))
        self.assertTrue(self.matches('[{"dist":…}]', '[{"dist":0.49}]'))
        self.assertFalse(self.matches('{"now":…}', '{"now":"soon"}'))
        self.assertFalse(self.matches('{"now":…}', '{"now":true}'))

    def test_more_elements_and_members(self):
        self.assertTrue(self.matches('[1, ...]', '[1, 2, 3]'))
        self.assertTrue(self.matches('[1, ...]', '[1]'))
        self.assertFalse(self.matches('[1, ...]', '[2, 1]'))
        self.assertTrue(self.matches('[...]', '[]'))
        self.assertTrue(self.matches('{"a":1, ...}', '{"b":2,"a":1}'))
        self.assertFalse(self.matches('{"a":1, ...}', '{"b":2}'))
        self.assertTrue(self.matches('{"data":{...}}', '{"data":{"x":[1]}}'))

    def test_everything_else_is_equal(self):
        self.assertTrue(self.matches('{"a":1,"b":[true,null]}',
                                     '{"b":[true,null],"a":1}'))
        self.assertFalse(self.matches('{"a":1}', '{"a":1,"b":2}'))
        self.assertFalse(self.matches('["x"]', '["x","y"]'))
        self.assertFalse(self.matches('{"deleted_sessions":1}',
                                      '{"deleted_sessions":0}'))
        self.assertFalse(self.matches('{"a":1}', '{"a":true}'))

    def test_the_tour_is_read_as_written(self):
        tour = "\n".join([
            "## The API", "", "```bash", "# prose", "curl localhost:8000/",
            "# {\"now\":…}", "", "curl -X POST localhost:8000/x \\",
            "  -d '{\"a\":\"#1\"}'   # 404 {\"error\":", "#   \"…\"}",
            "# prose again", "curl localhost:8000/metrics",
            "MOTORHEAD_LONG_TERM_MEMORY=true scripts/run", "```",
            "## Next", "```bash", "curl localhost:8000/not-the-tour", "```"])
        commands = parse_tour(tour)
        self.assertEqual([c.text for c in commands], [
            "curl localhost:8000/",
            "curl -X POST localhost:8000/x \\\n  -d '{\"a\":\"#1\"}'",
            "curl localhost:8000/metrics",
            "MOTORHEAD_LONG_TERM_MEMORY=true scripts/run"])
        self.assertEqual(commands[0].expected, '{"now":…}')
        self.assertEqual((commands[1].status, commands[1].expected),
                         (404, '{"error": "…"}'))
        self.assertEqual((commands[2].status, commands[2].expected),
                         (200, None))
        self.assertEqual(commands[3].settings,
                         {"MOTORHEAD_LONG_TERM_MEMORY": "true"})
        with self.assertRaises(ValueError):
            parse_tour("## The API\n```bash\nwget localhost:8000/\n```\n")


if __name__ == "__main__":
    unittest.main()
