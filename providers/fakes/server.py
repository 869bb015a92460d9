"""Run a werkzeug WSGI app on 127.0.0.1 with an ephemeral port in a thread, and stop it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from providers.base import CallbackRejected, HeaderSource

if TYPE_CHECKING:  # _typeshed exists for type checkers only
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the recorded requests; access logs would only be noise."""


@dataclass
class RunningServer:
    """A started server: ``url`` is ``http://127.0.0.1:<port>``; ``stop()`` shuts it down."""

    url: str
    _server: BaseWSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start(app: Callable[..., Any]) -> RunningServer:
    """Serve ``app`` in a daemon thread until ``stop()``."""
    return start_built(lambda _url: app)


def start_built(build: Callable[[str], Callable[..., Any]]) -> RunningServer:
    """Serve the app ``build(url)`` returns, for an app that must know its own URL (its public
    links point at the port just bound)."""
    server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_QuietHandler)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server.port}"
    server.app = build(url)
    # a short poll: ``stop()`` waits for the loop's next turn
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return RunningServer(url, server, thread)


@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[RunningServer]:
    with serving_built(lambda _url: app) as running:
        yield running


@contextmanager
def serving_built(build: Callable[[str], Callable[..., Any]]) -> Iterator[RunningServer]:
    running = start_built(build)
    try:
        yield running
    finally:
        running.stop()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(document: object, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json; charset=utf-8")


class FakeServer:
    """Base of the fakes: records requests, can be ``down`` (503) or ``fail_next`` N requests,
    can ``delay`` answers; subclasses implement ``handle``. Use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.down = False
        self.fail_next = 0
        self.delay = 0.0
        self._lock = threading.Lock()
        self._running: RunningServer | None = None

    @property
    def url(self) -> str:
        if self._running is None:
            raise RuntimeError("the fake server is not started")
        return self._running.url

    def start(self) -> Self:
        self._running = start(self)
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        body = request.get_data()
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, dict(request.headers), body)
            )
            unavailable = self.down or self.fail_next > 0
            if self.fail_next > 0:
                self.fail_next -= 1
        if self.delay:
            time.sleep(self.delay)
        if unavailable:
            return json_response({"error": "unavailable"}, 503)
        return self.handle(request, body)

    def handle(self, request: Request, body: bytes) -> Response:
        raise NotImplementedError


class CallbackEndpoint(FakeServer):
    """Our side of a callback in tests: ``handler(body, headers)`` returns ``(status, document)``;
    a ``CallbackRejected`` becomes 400 ``{"reason": ...}``. Outcomes are kept in ``results``."""

    def __init__(self, handler: Callable[[bytes, HeaderSource], tuple[int, object]]) -> None:
        super().__init__()
        self.handler = handler
        self.results: list[object] = []

    def handle(self, request: Request, body: bytes) -> Response:
        try:
            status, document = self.handler(body, request.headers)
        except CallbackRejected as exc:
            self.results.append(exc)
            return json_response({"reason": str(exc.reason)}, 400)
        self.results.append(document)
        return json_response(document, status)
