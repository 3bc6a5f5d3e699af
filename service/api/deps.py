"""Dependencies of the routes: the app's state, the loaded engine, API keys, request bodies."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
from fastapi import Depends, HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from service.api.batching import Scorer
from service.api.gate import Gate
from service.api.metrics import Metrics
from service.config import Settings
from service.decoding import BOMS, InputError, text_codec
from service.engine import Engine
from service.report import GrammarStatus
from service.stopping import Abandoned


class SharedPing:
    """The readiness check's ping of the LanguageTool server, shared: while one runs (in a thread of
    its own), every ``/readyz`` that comes waits for that one instead of starting another. A burst of
    readiness checks against a server that does not answer had held a worker thread each, for up to
    the ping timeout, and requests that needed a thread waited behind them."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._running: concurrent.futures.Future[GrammarStatus] | None = None

    async def status(self, ping: Callable[[], GrammarStatus], wait_seconds: float) -> GrammarStatus | None:
        """What ``ping`` answers (the running ping's answer, when one runs), or None when it has not
        answered within ``wait_seconds`` (it goes on; the next caller waits for it)."""
        with self._mutex:
            running = self._running
            if running is None or running.done():
                running = self._running = concurrent.futures.Future()
                threading.Thread(target=_settle, args=(running, ping), name="unspin-ping", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(running)), wait_seconds)
        except asyncio.TimeoutError:
            return None


def _settle(future: concurrent.futures.Future, fn: Callable[[], object]) -> None:
    """Run ``fn`` and put its answer (or its exception) in ``future``."""
    try:
        future.set_result(fn())
    except BaseException as e:  # noqa: BLE001 - handed to whoever waits
        future.set_exception(e)


@dataclass
class AppState:
    """What one app holds: its settings, the engine once loaded, the gate, the metrics."""

    settings: Settings
    metrics: Metrics
    gate: Gate
    scorer: Scorer
    engine: Engine | None = None
    load_error: str | None = None
    loaded: threading.Event = field(default_factory=threading.Event)
    grammar_ping: SharedPing = field(default_factory=SharedPing)

    @property
    def api_keys(self) -> frozenset[str]:
        """The API keys ``/v1`` and ``/v2`` requests must carry (``UNSPIN_API_KEYS``, comma-separated);
        empty: no key is asked for."""
        return frozenset(k.strip() for k in self.settings.api_keys.split(",") if k.strip())


# The dependencies are coroutines: FastAPI runs a plain function in a worker thread, and a request
# should not wait for a free thread to read the app's state.


async def get_state(request: Request) -> AppState:
    """The state of the app serving this request."""
    return request.app.state.unspin


async def loaded_engine(state: AppState = Depends(get_state)) -> Engine:
    """The loaded engine (:func:`engine_of`), as a dependency."""
    return engine_of(state)


def engine_of(state: AppState) -> Engine:
    """The loaded engine; 503 with Retry-After while it is still loading (or if it failed to load)."""
    if state.engine is None:
        if state.load_error:
            raise HTTPException(503, f"the language model failed to load: {state.load_error}")
        raise HTTPException(503, "the language model is still loading", headers={"Retry-After": "5"})
    return state.engine


def key_is_valid(state: AppState, request: Request, form_key: str | None = None) -> bool:
    """True when no keys are configured, or the request carries one (Bearer header or ``apiKey`` field)."""
    keys = state.api_keys
    if not keys:
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (scheme.lower() == "bearer" and token.strip() in keys) or (form_key is not None and form_key in keys)


async def require_api_key(request: Request, state: AppState = Depends(get_state)) -> None:
    """401 unless the request carries a configured API key (only when ``UNSPIN_API_KEYS`` is set)."""
    if not key_is_valid(state, request):
        raise HTTPException(401, "a valid API key is required: send 'Authorization: Bearer KEY'",
                            headers={"WWW-Authenticate": "Bearer"})


async def read_body(request: Request, settings: Settings) -> bytes:
    """The request body, refusing (413) anything over ``UNSPIN_MAX_BODY_BYTES`` without reading it
    all, (415) a compressed one, whose bytes would otherwise be read as text, and (408) one that
    stops arriving for ``UNSPIN_BODY_TIMEOUT`` seconds (the connection is then closed)."""
    limit, timeout = settings.max_body_bytes, settings.body_timeout
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity"):
        raise HTTPException(415, f"a request body with Content-Encoding: {coding} is not read here; send it "
                            "uncompressed", headers={"Accept-Encoding": "identity"})
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request body is {int(declared):,} bytes; the limit is {limit:,} (UNSPIN_MAX_BODY_BYTES)")
    chunks, size = [], 0
    parts = request.stream().__aiter__()
    while True:
        with anyio.move_on_after(timeout) as waiting:
            try:
                chunk = await parts.__anext__()
            except StopAsyncIteration:
                break
        if waiting.cancelled_caught:
            raise HTTPException(408, f"the request body stopped arriving: nothing for {timeout:g} s after "
                                f"{size:,} bytes (UNSPIN_BODY_TIMEOUT)", headers={"Connection": "close"})
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the request body is over the limit of {limit:,} bytes (UNSPIN_MAX_BODY_BYTES)")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 - Starlette's own cache, so request.form() can parse it after us
    return body


T = TypeVar("T")


async def while_connected(request: Request, fn: Callable[..., Awaitable[T]], *args: Any,
                          stop: threading.Event | None = None, **kwargs: Any) -> T:
    """``await fn(*args, **kwargs)``, given up if the client goes away meanwhile: a request waiting
    for a scoring slot then leaves the queue, its place freed and its text unscored, instead of being
    scored for nobody. Work already running in a thread is told to stop through ``stop`` (passed on
    to ``fn`` as ``stop=`` when given, and set then): a call that watches it
    (:func:`service.stopping.stop_when`) ends at its next slot by raising
    :class:`~service.stopping.Abandoned`; one that does not finishes, and its answer is dropped
    (the thread's result comes back through the cancelled scope, which has no checkpoint left to
    raise at, so the scope is asked whether it was cancelled: such a request had been answered and
    counted as a 200). Call it once the body has been read: all the client can send after that is
    its disconnect.

    Raises:
        ClientDisconnect: the client went away first (counted as 499).
    """
    def gone(watcher: asyncio.Future) -> None:
        if not watcher.cancelled() and watcher.exception() is None:  # not cancelled: the work had not ended
            if stop is not None:
                stop.set()
            scope.cancel()

    try:
        with anyio.CancelScope() as scope:
            watcher = asyncio.ensure_future(_disconnected(request))
            watcher.add_done_callback(gone)
            try:
                result = await (fn(*args, **kwargs) if stop is None else fn(*args, stop=stop, **kwargs))
            finally:
                watcher.cancel()
            if not scope.cancel_called:
                return result
    except Abandoned:
        if not scope.cancel_called:  # stopped for a reason of its own: not this client's leaving
            raise
    raise ClientDisconnect()


async def _disconnected(request: Request) -> None:
    """Return once the client of ``request``, whose body has been read, has gone away."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def media_type(request: Request | UploadFile) -> tuple[str, str | None]:
    """The media type (lower case, no parameters) of a request or of a multipart file part, and its
    charset parameter, if any."""
    raw = request.headers.get("content-type", "")
    kind, *params = [p.strip() for p in raw.split(";")]
    charset = None
    for p in params:
        k, _, v = p.partition("=")
        if k.strip().lower() == "charset":
            charset = v.strip().strip('"')
    return kind.lower(), charset


def body_codec(charset: str | None = None) -> str:
    """The codec of a declared charset (UTF-8 when none): 415 when it is not a text encoding Python knows."""
    try:
        return text_codec(charset or "utf-8")
    except InputError as e:
        raise HTTPException(415, f"{e}; send UTF-8") from None


def decode_body(body: bytes, charset: str | None = None, what: str = "the request body") -> str:
    """Decode a request body (or ``what`` else) strictly: 415 when the charset is not a text encoding
    Python knows, 400 when the body is not valid in it (UTF-8 by default; with no charset declared,
    a UTF-16 or UTF-32 byte-order mark says which, as for a file on the command line), or when it
    is UTF-16 or UTF-32 without a byte order (``utf-16``, not ``utf-16le``) and starts without a
    byte-order mark."""
    if charset is None:  # BOMS lists UTF-32LE's mark before UTF-16LE's, which begins it
        mark = next((e for bom, e in BOMS if body.startswith(bom)), None)
        if mark is not None and mark != "utf-8":
            return decode_body(body, mark.rsplit("-", 1)[0], what)  # utf-16-le -> utf-16: the mark is read
    enc = body_codec(charset)
    if body and enc in ("utf-16", "utf-32"):  # no byte order in the name: a byte-order mark must tell it
        marks = tuple(bom for bom, e in BOMS if e.startswith(enc + "-"))  # utf-16: utf-16-le's and utf-16-be's
        if not body.startswith(marks):
            # Python would read them in this machine's byte order; RFC 2781 says big-endian, clients mean either
            raise HTTPException(400, f"{what} declares charset {charset} but starts without a byte-order mark, "
                                     f"which alone tells its byte order: declare {enc}le or {enc}be")
    try:
        text = body.decode(enc)
    except UnicodeDecodeError as e:
        raise HTTPException(400, f"{what} is not valid {enc.upper()} (byte offset {e.start})") from None
    except UnicodeError as e:
        raise HTTPException(400, f"{what} is not valid {enc.upper()} ({e})") from None
    return text[1:] if text.startswith("\ufeff") else text


_RAW_BYTE = re.compile("[\x80-\xff]")


def query_params(request: Request) -> dict[str, str]:
    """The query string's parameters (the last of repeated ones), decoded strictly: 400 when a
    percent-encoded value is not valid UTF-8 (Starlette's own parsing would replace it silently)."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    raw = _RAW_BYTE.sub(lambda m: f"%{ord(m.group()):02X}", raw)  # bytes sent unescaped: decode them the same way
    return strict_pairs(raw, "a query parameter")


def strict_pairs(raw: str, what: str, encoding: str = "utf-8") -> dict[str, str]:
    """The ``name=value`` pairs of a URL-encoded string (the last of repeated names), with
    percent-escapes decoded strictly in ``encoding``: 400 naming ``what`` when one is not valid in it."""
    try:
        return dict(parse_qsl(raw, keep_blank_values=True, encoding=encoding, errors="strict"))
    except UnicodeDecodeError as e:
        raise HTTPException(400, f"{what} is not valid {encoding.upper()} (byte offset {e.start})") from None
    except UnicodeError as e:
        raise HTTPException(400, f"{what} is not valid {encoding.upper()} ({e})") from None
