"""``/v1``: score one document or a batch; the answer is the engine's report, unchanged."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

from service.api.batching import Scorer
from service.api.deps import (
    AppState,
    decode_body,
    get_state,
    loaded_engine,
    media_type,
    query_params,
    read_body,
    require_api_key,
    while_connected,
)
from service.api.schemas import (
    BatchRequest,
    BatchResponse,
    DocumentError,
    ErrorBody,
    RestoreOptions,
    RestoreRequest,
    RestoreResponse,
    ScoreOptions,
    ScoreRequest,
)
from service.decoding import BINARY_TEXT, LONE_SURROGATE, InputError, TextTooLong, check_text, looks_binary
from service.engine import Engine
from service.report import Report
from service.restore import replacements, restore
from service.stopping import Abandoned, check, stop_when

log = logging.getLogger("unspin.api")

router = APIRouter(prefix="/v1", tags=["score"], dependencies=[Depends(require_api_key)])

_ERRORS: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": why}
    for code, why in {
        400: "Body not valid UTF-8 (or in its declared charset; UTF-16 or UTF-32 of no byte order without a byte-order mark)",
        401: "Missing or wrong API key (when keys are configured)",
        408: "The body stopped arriving for UNSPIN_BODY_TIMEOUT seconds",
        413: "Text or body over the configured limit",
        415: "Content type other than application/json or text/plain, or a text/plain body that is binary",
        422: "Invalid JSON, empty or whitespace-only text, JSON text that is binary, bad options",
        503: "Model still loading, or queue full (see Retry-After)",
    }.items()
}

_ERRORS[503]["headers"] = {"Retry-After": {"description": "Seconds to wait before asking again.",
                                            "schema": {"type": "integer"}}}


def _body(model: str, options: type[ScoreOptions] | None = None) -> dict:
    """The OpenAPI request body of a route that reads its body itself: ``model`` as JSON, and, when
    the route takes it, the bare text as ``text/plain`` with ``options`` and ``id`` as query
    parameters (the schemas of the models are published by the app)."""
    content: dict = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}
    extra: dict = {"requestBody": {"required": True, "content": content}}
    if options is not None:
        content["text/plain"] = {"schema": {"type": "string", "minLength": 1}}
        props = options.model_json_schema()["properties"]
        props["id"] = ScoreRequest.model_json_schema()["properties"]["id"]
        extra["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": _query_schema(prop),
             "description": f"With a text/plain body only (a JSON body carries its own). {prop.get('description', '')}".strip()}
            for name, prop in props.items()
        ]
    return extra


def _query_schema(prop: dict) -> dict:
    """A model field's JSON schema as a query parameter's: no null (a query cannot send one), no title."""
    variants = [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]
    schema = {**prop, **variants[0]} if len(variants) == 1 else dict(prop)
    for key in ("anyOf", "title", "description"):
        schema.pop(key, None)
    return schema


_SCORE_BODY = _body("ScoreRequest", ScoreOptions)
_RESTORE_BODY = _body("RestoreRequest", RestoreOptions)
_BATCH_BODY = _body("BatchRequest")


def _printable(value: object) -> object:
    """``value`` with lone surrogates escaped (``\\udc00``): an answer is UTF-8, which cannot carry them."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _validation_error(e: ValidationError) -> HTTPException:
    errors = e.errors(include_url=False, include_context=False, include_input=False)
    for err in errors:  # an unknown field's name is the client's, and may hold a lone surrogate
        err["loc"] = tuple(_printable(x) for x in err["loc"])
        err["msg"] = _printable(err["msg"])
    return HTTPException(422, errors)


M = TypeVar("M", bound=BaseModel)
#: a JSON escape of a UTF-16 surrogate (``\ud800``), paired or not
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _from_json(model: type[M], raw: str) -> M:
    """``model`` from a JSON body, its values of the JSON types the schema gives (strict: a string
    is not a number, nor a number a boolean).

    Pydantic's JSON parser refuses an escaped lone surrogate (``"\\ud800"``), which is valid JSON
    syntax, and a surrogate character (from a body in UTF-7): the whole body would be "Invalid JSON"
    or "unable to parse raw data as a unicode string", whatever held it (the text, or an unknown
    field's name). Such a body is parsed again with Python's
    ``json`` module, which takes it, and validated from that, so that the text holding the surrogate
    is refused like any other text that cannot be scored (422 with the engine's message; in its own
    slot in a batch). Any other invalid JSON keeps pydantic's error.

    Raises:
        ValidationError: invalid JSON or a body the model does not take.
        HTTPException: 422, a key holding a lone surrogate (named, escaped).
    """
    try:
        return model.model_validate_json(raw, strict=True)  # JSON types as the schema says: no "0.3" for 0.3, no 0 for false
    except ValidationError as e:
        surrogate = _SURROGATE_ESCAPE.search(raw) or LONE_SURROGATE.search(raw)  # escaped, or decoded (UTF-7)
        if not (surrogate and all(err["type"] in ("json_invalid", "string_unicode") for err in e.errors())):
            raise
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise e from None
        where = _surrogate_key(data)
        if where is not None:  # pydantic cannot even name such a field: no field of the model has that name
            raise HTTPException(422, [{"type": "extra_forbidden", "loc": [_printable(x) for x in where],
                                       "msg": "Extra inputs are not permitted (the name holds a lone surrogate)"}])
        return model.model_validate(data, strict=True)


def _surrogate_key(data: object) -> tuple | None:
    """Where in parsed JSON an object's key holds a lone surrogate (its path, the key last), or None.
    Walked without recursion: the JSON may be nested as deep as the parser allows."""
    stack: list[tuple[tuple, object]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if LONE_SURROGATE.search(key):
                    return (*path, key)
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
    return None


R = TypeVar("R", bound=ScoreRequest)


async def _score_request(request: Request, state: AppState, model: type[R] = ScoreRequest) -> R:
    """A ``ScoreRequest`` (or ``model``) from a JSON body, or from a text/plain body plus query options."""
    kind, charset = media_type(request)
    if kind not in ("application/json", "text/plain"):
        raise HTTPException(415, f"send application/json or text/plain, not {kind or 'no content type'!r}")
    body = await read_body(request, state.settings)
    raw = decode_body(body, charset)
    try:
        if kind == "application/json":
            _no_query(request)
            return _from_json(model, raw)
        if looks_binary(raw):  # the command line's rule for a file, which a text/plain body is
            raise HTTPException(415, f"the text/plain body {BINARY_TEXT}")
        q = query_params(request)
        doc_id = q.pop("id", None)
        return model(text=raw, id=doc_id, options=model.model_fields["options"].annotation.model_validate(q))
    except ValidationError as e:
        raise _validation_error(e) from None


def _check_text(text: str, max_chars: int) -> None:
    """:func:`check_text`, and no binary data: a JSON string can carry what a text/plain body is refused
    for (``"\\u0000"``), and is held to the same rule (NUL, or over 10 % control characters).

    Raises:
        InputError: as :func:`check_text` does, or naming the binary data (422, as other text that
            cannot be scored; a text/plain body that is binary has been refused with 415 before).
    """
    check_text(text, max_chars)
    if looks_binary(text):
        raise InputError(f"the text {BINARY_TEXT}")


def _no_query(request: Request) -> None:
    """A JSON body carries its own options: a query string beside it would be left unread (``?min_score=0``
    answered at the default), so it is refused, naming where the options go."""
    if request.url.query:
        names = (", ".join(sorted(query_params(request))) or request.url.query)[:200]
        raise HTTPException(422, f"with a JSON body, options go in its \"options\" object (and the id in \"id\"), "
                                 f"not in the query string ({names}); query options are for a text/plain body")


def _options(doc_id: str | None, options: ScoreOptions) -> dict:
    """Keyword options of ``Engine.score`` for one document."""
    return {"id": doc_id, "threshold": options.threshold, "max_suggestions": options.max_suggestions,
            "grammar": options.grammar, "second_look": options.second_look}


@router.post("/score", response_model=Report, responses=_ERRORS, openapi_extra=_SCORE_BODY,
             summary="Score one document")
async def score(request: Request, state: AppState = Depends(get_state), engine: Engine = Depends(loaded_engine)) -> Report:
    """Score one document: JSON ``{"text", "id", "options"}``, or the bare text as ``text/plain``
    (options then come from the query string: ``?threshold=0.5&max_suggestions=3&grammar=false&second_look=false&id=doc1``).
    """
    return (await _scored(request, state, engine))[1]


async def _scored(request: Request, state: AppState, engine: Engine, model: type[R] = ScoreRequest) -> tuple[R, Report]:
    """The request of ``/v1/score`` (or, as ``model``, of ``/v1/restore``) and its report."""
    req = await _score_request(request, state, model)
    _check_text(req.text, state.settings.max_chars)  # refuse before taking a place in the queue
    report = await while_connected(request, state.scorer.score, engine, req.text, stop=threading.Event(),
                                   **_options(req.id, req.options))
    state.metrics.words.inc(report.stats.words)
    state.metrics.documents.inc()
    return req, report


@router.post("/restore", response_model=RestoreResponse, responses=_ERRORS, openapi_extra=_RESTORE_BODY,
             summary="The likely original of one document")
async def restore_text(request: Request, state: AppState = Depends(get_state),
                       engine: Engine = Depends(loaded_engine)) -> RestoreResponse:
    """Score one document as ``/v1/score`` does (the same bodies and options, and ``min_score``) and
    answer its likely original too: ``{"text", "replaced", "report"}``, the text being what
    ``unspin restore`` writes and the web page's *Copy clean text* copies (each spun span scoring at
    least ``min_score``, 0.6 by default, replaced by its first suggestion, each disguised word by
    its Latin word)."""
    req, report = await _scored(request, state, engine, RestoreRequest)
    at = req.options.min_score
    return RestoreResponse(text=restore(req.text, report, at), replaced=len(replacements(report, at)), report=report)


def _score_all(engine: Engine, req: BatchRequest, max_chars: int, stop: threading.Event | None = None
               ) -> list[Report | DocumentError]:
    """Each document's report or error, in order: in one batched call where the model gains from it,
    else one by one, a document's failure answered in its own slot. Once ``stop`` is set (the client
    went away) it ends at the next document or second-look slot (:class:`~service.stopping.Abandoned`)."""
    if Scorer.batches_pay(engine) and all(len(d.text) <= max_chars and not looks_binary(d.text) for d in req.documents):
        try:  # one batched call for the whole request (a transformer gains from it)
            many = engine.score_many([d.text for d in req.documents], [_options(d.id, req.options) for d in req.documents])
            return [r if isinstance(r, Report) else DocumentError(id=d.id, index=i, status=422, error=str(r))
                    for i, (d, r) in enumerate(zip(req.documents, many))]
        except Exception:  # noqa: BLE001 - fall back to one by one, which isolates the culprit
            log.warning("the batched call failed; scoring the %d documents one by one", len(req.documents),
                        exc_info=True)
    results: list[Report | DocumentError] = []
    for i, doc in enumerate(req.documents):
        check(stop)
        try:
            _check_text(doc.text, max_chars)
            results.append(engine.score(doc.text, progress=None if stop is None else stop_when(stop),
                                        **_options(doc.id, req.options)))
        except TextTooLong as e:
            results.append(DocumentError(id=doc.id, index=i, status=413, error=str(e)))
        except InputError as e:
            results.append(DocumentError(id=doc.id, index=i, status=422, error=str(e)))
        except Abandoned:
            raise
        except Exception as e:  # one broken document never sinks the rest
            results.append(DocumentError(id=doc.id, index=i, status=500, error=f"internal error: {type(e).__name__}"))
    return results


@router.post("/score/batch", response_model=BatchResponse, responses=_ERRORS, openapi_extra=_BATCH_BODY,
             summary="Score several documents")
async def score_batch(request: Request, state: AppState = Depends(get_state),
                      engine: Engine = Depends(loaded_engine)) -> BatchResponse:
    """Score ``{"documents": [{"id", "text"}, ...]}`` in order. A document that cannot be scored is
    reported in its own slot (``{"id", "index", "status", "error"}``); the others are still scored."""
    kind, charset = media_type(request)
    if kind != "application/json":
        raise HTTPException(415, f"send application/json, not {kind or 'no content type'!r}")
    _no_query(request)
    raw = decode_body(await read_body(request, state.settings), charset)
    try:
        req = _from_json(BatchRequest, raw)
    except ValidationError as e:
        raise _validation_error(e) from None
    limit = state.settings.max_batch_documents
    if len(req.documents) > limit:
        raise HTTPException(413, f"{len(req.documents)} documents; the limit is {limit} per batch (UNSPIN_MAX_BATCH_DOCUMENTS)")
    max_chars = state.settings.max_chars
    # one request scores at most UNSPIN_MAX_CHARS characters, in one text or several: a batch is one
    # place in the queue for all of its work (a document over the limit is answered in its slot, unscored)
    total = sum(n for d in req.documents if (n := len(d.text)) <= max_chars)
    if total > max_chars:
        raise HTTPException(413, f"the documents hold {total} characters together; the limit is {max_chars} per "
                                 "request, as for one text (UNSPIN_MAX_CHARS): send them in smaller batches")
    results = await while_connected(request, state.gate.run, _score_all, engine, req, max_chars, stop=threading.Event())
    for r in results:
        if isinstance(r, Report):
            state.metrics.words.inc(r.stats.words)
            state.metrics.documents.inc()
    return BatchResponse(results=results)
