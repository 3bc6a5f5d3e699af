"""``/v2/check`` and ``/v2/languages``: LanguageTool's own protocol, so LanguageTool clients work unchanged.

Errors are answered as LanguageTool answers them: a status code and a plain-text body starting
with ``Error:``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import (
    AppState,
    body_codec,
    decode_body,
    get_state,
    key_is_valid,
    loaded_engine,
    media_type,
    query_params,
    read_body,
    strict_pairs,
)
from service.api.languagetool import (
    CheckText,
    Language,
    ProtocolError,
    RuleFilter,
    check_payload,
    english_variant,
    languages_payload,
    parse_data,
    resolve_language,
)
from service.engine import Engine
from service.grammar import GrammarOptions
from service.report import GrammarStatus, Report
from service.text import InputError, check_characters

router = APIRouter(prefix="/v2", tags=["LanguageTool protocol"])

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_LEVELS = ("default", "picky")
_TEXT_FIELDS = ("text", "data")  # read from a multipart file part too


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> PlainTextResponse:
    # a message may quote what the client sent (a language code), which a declared charset such as
    # UTF-7 can make a lone surrogate: escape those, as UTF-8 cannot carry them
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return PlainTextResponse(f"Error: {message}", status_code=status, headers=headers)


async def _params(request: Request, state: AppState) -> dict[str, str]:
    """Query string and form fields (LanguageTool accepts both, and GET as well as POST)."""
    params = query_params(request)
    if request.method == "POST":
        kind, charset = media_type(request)
        limit = state.settings.max_body_bytes
        body = await read_body(request, state.settings)
        if body:
            if kind not in _FORM_TYPES:
                raise HTTPException(415, f"send the parameters form-encoded ({_FORM_TYPES[0]}), not {kind or 'no content type'!r}")
            if kind == _FORM_TYPES[0]:
                # parsed here, strictly, in the declared charset (UTF-8 by default): bytes not valid in
                # it are refused rather than silently replaced
                codec = body_codec(charset)
                params.update(strict_pairs(decode_body(body, codec), "a form field", codec))
            else:
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
    return params


def grammar_options(params: dict[str, str], language: Language, detected: bool, rules: RuleFilter) -> GrammarOptions:
    """What a configured LanguageTool server is asked with: the client's language, level, rules and
    categories and mother tongue, as LanguageTool itself would have been asked. With ``auto`` (unspin
    reads English only) the English variant among ``preferredVariants``, else the configured language."""
    variant = english_variant(params.get("preferredVariants")) if detected else language
    return GrammarOptions(
        language=variant.code if variant is not None else None,
        level=params.get("level"),
        enabled_rules=tuple(sorted(rules.enabled_rules)),
        disabled_rules=tuple(sorted(rules.disabled_rules)),
        enabled_categories=tuple(sorted(rules.enabled_categories)),
        disabled_categories=tuple(sorted(rules.disabled_categories)),
        enabled_only=rules.enabled_only,
        mother_tongue=params.get("motherTongue") or None,
    )


@router.get("/check", summary="Check a text (LanguageTool protocol, query parameters)", response_class=JSONResponse,
            operation_id="languagetool_check_get")
@router.post("/check", summary="Check a text (LanguageTool protocol)", response_class=JSONResponse,
             operation_id="languagetool_check")
async def check(request: Request, state: AppState = Depends(get_state)):
    """LanguageTool's ``/v2/check``: form fields ``text`` or ``data``, ``language`` (``en-US``, ``auto``, ...),
    optional ``enabledRules``, ``disabledRules``, ``enabledCategories``, ``disabledCategories``,
    ``enabledOnly``, ``level``. Spun spans come back as matches of rule ``UNSPIN_SPUN_PHRASE``; a
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
        if text.to_original is not None:  # data=: the markup too, which the answer quotes in contexts
            check_characters(text.original)
    except (ProtocolError, InputError) as e:
        return _error(400, str(e))
    limit = state.settings.max_chars
    if len(text.plain) > limit:
        return _error(413, f"Your text exceeds the limit of {limit} characters (it's {len(text.plain)} characters).")
    try:
        engine: Engine = loaded_engine(state)
    except HTTPException as e:
        return _error(e.status_code, str(e.detail), e.headers)
    if text.plain.strip():
        report = await state.scorer.score(engine, text.plain, grammar=grammar_options(params, language, detected, rules))
        state.metrics.words.inc(report.stats.words)
        state.metrics.documents.inc()
    else:  # LanguageTool answers an empty text with no matches, not an error; nothing was left unchecked
        report = Report(score=0.0, label="clean", lm=engine.lm_name, grammar=GrammarStatus(checked=True, reason=""))
    return JSONResponse(check_payload(report, text, language, detected, rules))


@router.get("/languages", summary="Languages this server checks (LanguageTool protocol)")
async def languages() -> list[dict[str, str]]:
    """LanguageTool's ``/v2/languages``: ``[{"name", "code", "longCode"}]``."""
    return languages_payload()
