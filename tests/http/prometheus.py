"""A strict reader of the Prometheus text format (version 0.0.4), so that the
tests check the exposition as a scraper would, not by grepping it."""

import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
SUFFIXES = {"counter": [""], "gauge": [""],
            "histogram": ["_bucket", "_sum", "_count"]}


class FormatError(AssertionError):
    pass


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        match = LABEL.match(text, pos)
        if not match:
            raise FormatError(f"bad labels: {text!r}")
        labels[match.group(1)] = re.sub(
            r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1),
            match.group(2))
        pos = match.end()
    return labels


def parse_value(text):
    if text in ("+Inf", "-Inf"):
        return math.inf if text[0] == "+" else -math.inf
    return float(text)


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises
    FormatError on anything a scraper would reject or misread."""
    families, current = {}, None
    if not text.endswith("\n"):
        raise FormatError("the exposition must end with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            if name in families:
                raise FormatError(f"{name} declared twice")
            current = families[name] = {"help": help_text, "type": None,
                                        "samples": []}
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            if current is None or families.get(name) is not current:
                raise FormatError(f"TYPE {name} without its HELP")
            if kind not in SUFFIXES:
                raise FormatError(f"unknown type {kind}")
            current["type"] = kind
        elif line.startswith("#") or not line:
            raise FormatError(f"unexpected line {line!r}")
        else:
            match = SAMPLE.match(line)
            if not match or current is None:
                raise FormatError(f"bad sample line {line!r}")
            name, labels, value = match.groups()
            family = next(n for n, f in families.items() if f is current)
            if name not in [family + s for s in SUFFIXES[current["type"]]]:
                raise FormatError(f"{name} is not in family {family}")
            current["samples"].append(
                (name, parse_labels(labels or ""), parse_value(value)))
    for name, family in families.items():
        check_family(name, family)
    return families


def check_family(name, family):
    if family["type"] == "counter" and not name.endswith("_total"):
        raise FormatError(f"counter {name} must end in _total")
    if family["type"] != "histogram":
        return
    series = {}
    for sample, labels, value in family["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if sample.endswith("_bucket"):
            series[key]["buckets"].append((parse_value(labels["le"]), value))
        elif sample.endswith("_count"):
            series[key]["count"] = value
    for key, data in series.items():
        bounds = [b for b, _ in data["buckets"]]
        counts = [c for _, c in data["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != math.inf:
            raise FormatError(f"{name}{key}: buckets out of order or no +Inf")
        if counts != sorted(counts):
            raise FormatError(f"{name}{key}: buckets are not cumulative")
        if data["count"] != counts[-1]:
            raise FormatError(f"{name}{key}: _count differs from +Inf bucket")


def value(families, name, **labels):
    """The value of the sample `name` whose labels include `labels`; 0 when
    none has them (a series that never counted is left out)."""
    family = families.get(name) or families.get(
        re.sub(r"_(bucket|sum|count)$", "", name))
    if family is None:
        raise KeyError(name)
    for sample, sample_labels, number in family["samples"]:
        if sample == name and all(sample_labels.get(k) == v
                                  for k, v in labels.items()):
            return number
    return 0
