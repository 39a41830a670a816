"""Checks the server's answers against its OpenAPI document
(docs/openapi.yaml): the harness passes every answer it receives through
`check`, so each black-box suite also tests the document."""

import json
import os
import re
import urllib.parse

import yaml
from jsonschema import Draft202012Validator

DOCUMENT = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                        "openapi.yaml")


def load_document():
    with open(DOCUMENT, encoding="utf-8") as source:
        return yaml.safe_load(source)


def resolve(node, root, seen=()):
    """The node with every local $ref replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            pointer = node["$ref"]
            assert pointer.startswith("#/"), pointer
            assert pointer not in seen, f"recursive $ref {pointer}"
            target = root
            for part in pointer[2:].split("/"):
                target = target[part]
            return resolve(target, root, seen + (pointer,))
        return {key: resolve(value, root, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, root, seen) for item in node]
    return node


def template_pattern(template):
    """"/sessions/{session_id}/memory" as a pattern of concrete paths."""
    parts = re.split(r"\{[^/{}]+\}", template)
    return re.compile("^" + "[^/]+".join(map(re.escape, parts)) + "$")


class Document:
    """The document with its references resolved and its path templates
    turned into patterns."""

    def __init__(self, raw):
        self.raw = raw
        self.resolved = resolve(raw, raw)
        self.paths = [(template_pattern(template), template, item)
                      for template, item in self.resolved["paths"].items()]

    def path_item(self, path):
        for pattern, template, item in self.paths:
            if pattern.match(path):
                return template, item
        return None, None

    def schemas(self):
        """Every schema in the document, for a check that each compiles."""
        found = []

        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "schema" and isinstance(value, dict):
                        found.append(value)
                    else:
                        walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)
        walk(self.resolved)
        return found


_document = None


def document():
    global _document
    if _document is None:
        _document = Document(load_document())
    return _document


def route_path(target):
    """The path the server routes: the query and the client prefixes
    ("/motorhead", "/key/{KEY}", each once, in either order) taken off."""
    path = urllib.parse.urlsplit(target).path
    for _ in range(2):
        if path == "/motorhead" or path.startswith("/motorhead/"):
            path = path[len("/motorhead"):] or "/"
        elif path.startswith("/key/"):
            rest = path[len("/key/"):]
            path = rest[rest.find("/"):] if "/" in rest else "/"
    return path


def check(method, target, status, headers, text):
    """Raises AssertionError when the answer is not one the document
    describes: its status for the operation, its media type and its body's
    schema, and the X-Request-Id header."""
    where = f"{method} {target} -> {status}"
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers.get("x-request-id"), f"{where}: no X-Request-Id"
    if method == "OPTIONS" or method == "HEAD":
        return  # CORS preflights, and HEAD, which carries no body
    template, item = document().path_item(route_path(target))
    operation = item.get(method.lower()) if item else None
    if operation is None:
        # No such route, or a method the route does not answer: an error.
        assert status in (400, 401, 404, 405, 413, 431, 503), where
        response = document().resolved["components"]["responses"]["Error"]
    else:
        responses = operation["responses"]
        response = responses.get(str(status)) or responses.get("default")
        assert response, f"{where}: status not in the document"
        if status < 400:
            assert str(status) in responses, \
                f"{where}: a success the document does not list"
    media_type = headers.get("content-type", "").split(";")[0].strip()
    content = response.get("content", {})
    assert media_type in content, \
        f"{where}: {media_type!r} is not among {sorted(content)}"
    if media_type == "application/json":
        body = json.loads(text)
        errors = sorted(Draft202012Validator(content[media_type]["schema"])
                        .iter_errors(body), key=str)
        assert not errors, f"{where}: {errors[0].message} in {text[:300]}"
