"""The request guard's pure checks: nesting depth without parsing, control characters behind
escapes, and a linear scan whatever the body."""

from __future__ import annotations

import json
import time

import pytest

from payments.hygiene import MAX_JSON_BYTES, json_body_problem, nests_deeper_than


@pytest.mark.parametrize(
    ("body", "limit", "deeper"),
    [
        (b"[" * 32 + b"]" * 32, 32, False),
        (b'{"a":' * 33 + b"1" + b"}" * 33, 32, True),
        (b"[{" * 16 + b"}]" * 16, 32, False),
        (b"[{" * 16 + b"[]" + b"}]" * 16, 32, True),
        (json.dumps({"a": ['x"y[', {"b": "}}}"}], "c": [[1]]}).encode(), 3, False),
        (json.dumps({"a": ['x"y[', {"b": "}}}"}], "c": [[1]]}).encode(), 2, True),
        (json.dumps(["[[[[" * 100, "\\", '"{']).encode(), 1, False),
        (b"[[[", 32, False),  # unbalanced but shallow: the parser says it is no JSON
        (b"[" * 1000, 32, True),
    ],
)
def test_depth_is_counted_outside_strings(body: bytes, limit: int, deeper: bool) -> None:
    assert nests_deeper_than(body, limit) is deeper


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": "\\u0000"}', "control-characters"),
        (b'{"a": "\x01"}', "control-characters"),
        (b'{"a": "\\ud800"}', "control-characters"),
        (b'{"a": "\\ud83d\\ude00 \\n \\t"}', ""),  # an emoji as a surrogate pair, newline, tab
        (b'{"a": "\\\\u0000"}', ""),  # an escaped backslash, then the text "u0000"
        (b"[" * 40 + b"]" * 40, "too-deep"),
        (b" " * (MAX_JSON_BYTES + 1), "too-large"),
        (b"not json \\u0000", ""),  # not JSON at all: the view answers that
    ],
)
def test_a_body_is_refused_for_what_it_holds(body: bytes, problem: str) -> None:
    assert json_body_problem(body) == problem


@pytest.mark.parametrize(
    "body",
    [
        b'"' + b'\\"' * (MAX_JSON_BYTES // 2 - 1),  # was quadratic: every escaped quote rescanned
        b'"' * MAX_JSON_BYTES,
        b"[" * (MAX_JSON_BYTES // 2) + b"]" * (MAX_JSON_BYTES // 2),
    ],
    ids=["escaped quotes", "quotes", "brackets"],
)
def test_the_worst_body_of_the_largest_size_is_checked_in_linear_time(body: bytes) -> None:
    started = time.thread_time()
    json_body_problem(body)
    assert time.thread_time() - started < 3
