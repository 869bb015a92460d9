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
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
MAX_JSON_DEPTH = 32
# a JSON body: a catalog document of a whole province is well under this; uploads are multipart
MAX_JSON_BYTES = 4 * 1024 * 1024


def json_depth(body: bytes) -> int:
    """How deep a JSON text nests its arrays and objects (brackets inside strings aside), counted
    without parsing: a thousand-deep body never reaches the recursive parser."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


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
    if json_depth(body) > max_depth:
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
