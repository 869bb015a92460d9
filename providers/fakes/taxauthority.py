"""A fake tax authority: accepts summaries and receipt XML, idempotent by ``X-Submission-Id``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from providers.fakes.server import FakeServer, json_response
from providers.taxauthority.schemas import (
    NOTICES_PATH,
    RECEIPTS_PATH,
    SUBMISSION_HEADER,
    SUMMARIES_PATH,
    notice_problems,
    summary_problems,
)

PATHS = (SUMMARIES_PATH, RECEIPTS_PATH, NOTICES_PATH)


@dataclass(frozen=True)
class Accepted:
    id: str
    submission_id: str
    path: str
    body: bytes


class FakeTaxAuthority(FakeServer):
    """``accepted`` maps submission id → what was kept; a repeat returns the same id."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[str, Accepted] = {}

    def handle(self, request: Request, body: bytes) -> Response:
        if request.method != "POST" or request.path not in PATHS:
            return json_response({"error": "not found"}, 404)
        submission_id = request.headers.get(SUBMISSION_HEADER, "")
        if not submission_id:
            return json_response({"accepted": False, "errors": ["X-Submission-Id missing"]}, 400)
        with self._lock:
            done = self.accepted.get(submission_id)
        if done is not None:
            return json_response({"accepted": True, "id": done.id, "duplicate": True})
        errors = self._problems(request.path, body)
        if errors:
            return json_response({"accepted": False, "errors": errors}, 422)
        with self._lock:
            done = self.accepted.setdefault(
                submission_id,
                Accepted(f"CQT-{len(self.accepted) + 1:06d}", submission_id, request.path, body),
            )
        return json_response({"accepted": True, "id": done.id})

    @staticmethod
    def _problems(path: str, body: bytes) -> list[str]:
        if path == RECEIPTS_PATH:
            return [] if body.lstrip().startswith(b"<") else ["body is not XML"]
        try:
            document = json.loads(body)
        except ValueError:
            return ["body is not JSON"]
        if not isinstance(document, dict):
            return ["not an object"]
        return notice_problems(document) if path == NOTICES_PATH else summary_problems(document)
