"""What every request body must be before any view reads it: small, shallow, plain text.

Pure functions (no Flask): the app factory's guard (``payments.guard``) and the callbacks use them.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 control characters but tab, line feed and carriage return: no text column wants them, and
# PostgreSQL refuses NUL outright (in text and in JSON)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# a lone UTF-16 surrogate (JSON "\ud800"): Python keeps it, no database encodes it
_SURROGATE = re.compile("[\ud800-\udfff]")
# a JSON string, or an unterminated one to the end: every match consumes, none is retried, so
# the scan stays linear whatever the body (possessive: no backtracking)
_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# objects and arrays nest alike: "{" as "[", "}" as "]"
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
MAX_JSON_DEPTH = 32
# a JSON body: a catalog document of a whole province is well under this; uploads are multipart
MAX_JSON_BYTES = 4 * 1024 * 1024


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects more than ``limit`` deep (brackets inside
    strings aside), decided without parsing: each pass drops the innermost pairs (one level:
    ``replace`` never rescans what it joined), so ``limit`` passes at C speed answer, and a
    thousand-deep body never reaches the recursive parser. Unbalanced brackets (no JSON: the
    parser says so) count only their opening ones."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # not that many openings at all, strings included: the usual body
    brackets = _STRING.sub(b"", body).translate(_ONE_KIND, _NOT_BRACKETS)
    for passes in range(limit + 1):
        if not brackets:
            return False
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            return passes + brackets.count(b"[") > limit
        brackets = reduced
    return True


def bad_text(data: Any) -> bool:
    """Whether any string (key or value) in parsed JSON holds a control character or a lone
    surrogate."""
    if isinstance(data, str):
        return CONTROL.search(data) is not None or _SURROGATE.search(data) is not None
    if isinstance(data, dict):
        return any(bad_text(k) or bad_text(v) for k, v in data.items())
    if isinstance(data, list):
        return any(bad_text(v) for v in data)
    return False


def json_body_problem(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> str:
    """Why a JSON request body is refused before parsing ('' when it is not)."""
    if len(body) > MAX_JSON_BYTES:
        return "too-large"
    if _CONTROL_BYTES.search(body):
        return "control-characters"
    if nests_deeper_than(body, max_depth):
        return "too-deep"
    if b"\\u" in body:
        # an escape may spell NUL or a lone surrogate: look at the decoded strings
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return ""  # not JSON at all: the view answers that
        if bad_text(data):
            return "control-characters"
    return ""
