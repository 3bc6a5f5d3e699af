"""``/v2/check`` and ``/v2/languages``: LanguageTool's own protocol, so LanguageTool clients work unchanged.

Errors are answered as LanguageTool answers them: a status code and a plain-text body starting
with ``Error:``.
"""

from __future__ import annotations

import json
import threading

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import (
    AppState,
    body_codec,
    decode_body,
    engine_of,
    get_state,
    key_is_valid,
    media_type,
    query_params,
    read_body,
    strict_pairs,
    while_connected,
)
from service.api.languagetool import (
    CheckText,
    Language,
    ProtocolError,
    RuleFilter,
    check_payload,
    MODES,
    languages_payload,
    parse_data,
    resolve_language,
    supported_codes,
)
from service.decoding import BINARY_TEXT, InputError, check_characters, looks_binary
from service.engine import Engine
from service.grammar import GrammarOptions
from service.report import GrammarStatus, Report

router = APIRouter(prefix="/v2", tags=["LanguageTool protocol"])

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_LEVELS = ("default", "picky")
_TEXT_FIELDS = ("text", "data")  # read from a multipart file part too


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> PlainTextResponse:
    # a message may quote what the client sent (a language code), which a declared charset such as
    # UTF-7 can make a lone surrogate: escape those, as UTF-8 cannot carry them
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return PlainTextResponse(f"Error: {message}", status_code=status, headers=headers)


async def _params(request: Request, state: AppState) -> dict[str, str]:
    """Query string and body parameters, as LanguageTool reads them: GET or POST, the query string
    winning over the body. A body is form fields whatever its content type says (LanguageTool
    itself ignores it, and LTeX sends a form body labelled ``application/json``), or
    ``multipart/form-data``; a body that is JSON is refused (415) with the reason."""
    params: dict[str, str] = {}
    if request.method == "POST":
        kind, charset = media_type(request)
        limit = state.settings.max_body_bytes
        body = await read_body(request, state.settings)
        if body and kind == _MULTIPART and "boundary=" in request.headers.get("content-type", "").lower():
            try:  # a part may be as large as the whole body (Starlette's default is 1 MiB a part)
                form = await request.form(max_part_size=limit)
            except StarletteHTTPException as e:  # a malformed multipart body
                raise HTTPException(400, str(e.detail)) from None
            try:
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                    elif key in _TEXT_FIELDS:  # a file part (curl -F text=@file.txt): its content is the text
                        params[key] = decode_body(await value.read(), media_type(value)[1], f"the {key!r} file part")
            finally:
                await form.close()
        elif body:
            # parsed here, strictly, in the declared charset (UTF-8 by default): bytes not valid in
            # it are refused rather than silently replaced
            codec = body_codec(charset)
            decoded = decode_body(body, codec)
            if kind != _FORM and _is_json(decoded):
                raise HTTPException(415, f"send the parameters form-encoded ({_FORM}: language=en-US&text=...), "
                                         "not as a JSON document")
            params.update(strict_pairs(decoded, "a form field", codec))
    params.update(query_params(request))  # LanguageTool: "POST requests can have query parameters, too", and they win
    return params


def _is_json(body: str) -> bool:
    """Whether a body is a JSON object or array (not form fields, which never parse as either)."""
    if body.lstrip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def _protocol_fields() -> dict:
    """The JSON schema of ``/v2/check``'s parameters (form fields, or the query string), for OpenAPI."""
    ids = {"type": "string", "description": "Comma-separated ids."}
    return {
        "text": {"type": "string", "description": "The text to check (or 'data')."},
        "data": {"type": "string", "description": "Annotated text as JSON: {\"annotation\": [{\"text\": ...}, "
                 "{\"markup\": ..., \"interpretAs\": ...}]}, or {\"text\": ...} (or 'text')."},
        "language": {"type": "string", "enum": supported_codes(), "description": "The language (English variants), or 'auto'."},
        "preferredVariants": {"type": "string", "description": "With 'auto': the variants to check in (en-GB, ...)."},
        "motherTongue": {"type": "string"},
        "enabledRules": ids, "disabledRules": ids, "enabledCategories": ids, "disabledCategories": ids,
        "enabledOnly": {"type": "string", "description": "'true' or 'yes' (anything else is false, as in LanguageTool)."},
        "level": {"type": "string", "enum": list(_LEVELS)},
        "mode": {"type": "string", "enum": list(MODES)},
        "apiKey": {"type": "string", "description": "When API keys are configured (or 'Authorization: Bearer KEY')."},
    }


def _check_doc(method: str) -> dict:
    """OpenAPI of ``/v2/check``, which reads its parameters itself: as query parameters for GET, as a
    form body (or query parameters) for POST; errors are LanguageTool's plain text."""
    props = _protocol_fields()
    if method == "GET":
        return {"parameters": [{"name": n, "in": "query", "required": n == "language", "schema": p}
                               for n, p in props.items()]}
    form = {"type": "object", "properties": props, "required": ["language"]}
    return {"requestBody": {"required": True, "content": {_FORM: {"schema": form}, _MULTIPART: {"schema": form}}}}


_PLAIN_ERRORS = {
    code: {"description": why, "content": {"text/plain": {"schema": {"type": "string", "pattern": "^Error: "}}}}
    for code, why in {
        400: "A request LanguageTool refuses: missing or unknown language, both or neither of text and data, "
             "malformed data, an unknown level or mode; a body not valid in its charset",
        401: "Missing or wrong API key (when keys are configured)",
        413: "Text or body over the configured limit",
        415: "A body that is a JSON document, a charset that is not a text encoding, a compressed body",
        503: "Model still loading, or queue full (see Retry-After)",
    }.items()
}


def grammar_options(params: dict[str, str], language: Language, rules: RuleFilter) -> GrammarOptions:
    """What a configured LanguageTool server is asked with: the client's language, level, rules and
    categories, mode and mother tongue, as LanguageTool itself would have been asked. The language
    is the one the answer names (:func:`~service.api.languagetool.resolve_language`): for ``auto``,
    unspin reading English only, an English variant, so that the server checks the text in the
    language the answer says it was checked in."""
    return GrammarOptions(
        language=language.code,
        level=params.get("level"),
        enabled_rules=tuple(sorted(rules.enabled_rules)),
        disabled_rules=tuple(sorted(rules.disabled_rules)),
        enabled_categories=tuple(sorted(rules.enabled_categories)),
        disabled_categories=tuple(sorted(rules.disabled_categories)),
        enabled_only=rules.enabled_only,
        mother_tongue=params.get("motherTongue") or None,
        mode=rules.mode,
    )


@router.get("/check", summary="Check a text (LanguageTool protocol, query parameters)", response_class=JSONResponse,
            operation_id="languagetool_check_get", openapi_extra=_check_doc("GET"), responses=_PLAIN_ERRORS)
@router.post("/check", summary="Check a text (LanguageTool protocol)", response_class=JSONResponse,
             operation_id="languagetool_check", openapi_extra=_check_doc("POST"), responses=_PLAIN_ERRORS)
async def check(request: Request, state: AppState = Depends(get_state)):
    """LanguageTool's ``/v2/check``: form fields ``text`` or ``data``, ``language`` (``en-US``, ``auto``, ...),
    optional ``enabledRules``, ``disabledRules``, ``enabledCategories``, ``disabledCategories``,
    ``enabledOnly``, ``level``, ``mode``, ``motherTongue``, ``preferredVariants``. Spun spans come back as matches of rule ``UNSPIN_SPUN_PHRASE``; a
    configured LanguageTool server's own matches are merged in. Offsets are UTF-16 code units."""
    try:
        params = await _params(request, state)
    except HTTPException as e:
        return _error(e.status_code, str(e.detail), e.headers)
    if not key_is_valid(state, request, params.get("apiKey")):
        return _error(401, "a valid API key is required (Authorization: Bearer KEY, or the apiKey parameter)")
    try:
        language, detected = resolve_language(params.get("language"), params.get("preferredVariants"),
                                              state.settings.languagetool_language)
        rules = RuleFilter.from_params(params)
        if params.get("level", "default") not in _LEVELS:
            raise ProtocolError(f"'level' must be one of {', '.join(_LEVELS)}, not {params['level']!r}")
        if "text" in params and "data" in params:
            raise ProtocolError("Set only 'text' or 'data', not both")
        if "text" in params:
            text = CheckText(params["text"], params["text"])
        elif "data" in params:
            text = parse_data(params["data"])
        else:
            raise ProtocolError("Missing 'text' or 'data' parameter")
        check_characters(text.plain)
        if looks_binary(text.plain):  # refused as /v1 and the command line refuse it: not scored into no matches
            raise ProtocolError(f"the text {BINARY_TEXT}")
        if text.to_original is not None:  # data=: the markup too, which the answer quotes in contexts
            check_characters(text.original)
    except (ProtocolError, InputError) as e:
        return _error(400, str(e))
    limit = state.settings.max_chars
    if len(text.plain) > limit:
        return _error(413, f"Your text exceeds the limit of {limit} characters (it's {len(text.plain)} characters).")
    try:
        engine: Engine = engine_of(state)
    except HTTPException as e:
        return _error(e.status_code, str(e.detail), e.headers)
    if text.plain.strip():
        report = await while_connected(request, state.scorer.score, engine, text.plain, stop=threading.Event(),
                                       grammar=grammar_options(params, language, rules))
        state.metrics.words.inc(report.stats.words)
        state.metrics.documents.inc()
    else:  # LanguageTool answers an empty text with no matches, not an error; nothing was left unchecked
        report = Report(score=0.0, label="clean", lm=engine.lm_name,
                        grammar=GrammarStatus(checked=True, reason="", complete=True))
    return JSONResponse(check_payload(report, text, language, detected, rules))


@router.get("/healthcheck", summary="Ready to check (LanguageTool protocol)", response_class=PlainTextResponse,
            responses={503: {"description": "the language model is not loaded (yet)"}})
async def healthcheck(state: AppState = Depends(get_state)) -> PlainTextResponse:
    """LanguageTool's ``/v2/healthcheck``: ``OK`` once checks can be answered (the language model is
    loaded), for health probes written for LanguageTool; else 503 with LanguageTool's ``Error:`` body."""
    try:
        engine_of(state)
    except HTTPException as e:
        return _error(e.status_code, str(e.detail), e.headers)
    return PlainTextResponse("OK")


@router.get("/languages", summary="Languages this server checks (LanguageTool protocol)")
async def languages() -> list[dict[str, str]]:
    """LanguageTool's ``/v2/languages``: ``[{"name", "code", "longCode"}]``."""
    return languages_payload()
