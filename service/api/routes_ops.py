"""Operations: ``/healthz`` (process up), ``/readyz`` (model loaded; grammar server said explicitly), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from service.api.deps import AppState, get_state
from service.api.metrics import CONTENT_TYPE_LATEST
from service.api.schemas import GrammarReadiness, Health, Readiness

router = APIRouter(tags=["operations"])

PING_SECONDS = 3.0


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: the process answers (the model may still be loading; see ``/readyz``)."""
    return Health()


async def _grammar(state: AppState) -> GrammarReadiness:
    checker = getattr(state.engine, "grammar", None) if state.engine is not None else None
    if checker is None:
        if state.settings.languagetool_url or state.settings.ltp_path is not None:
            return GrammarReadiness(configured=True, reachable=None, detail="the engine is not loaded yet")
        return GrammarReadiness(configured=False, detail="no LanguageTool server configured (UNSPIN_LANGUAGETOOL_URL): grammar is not checked")
    status = await state.grammar_ping.status(checker.ping, PING_SECONDS)
    if status is None:
        return GrammarReadiness(configured=True, reachable=False, detail=f"LanguageTool did not answer within {PING_SECONDS:g} s")
    return GrammarReadiness(configured=True, reachable=bool(status.checked), detail=status.reason)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}},
            summary="Ready to score (model loaded); says whether grammar is checked")
async def readyz(state: AppState = Depends(get_state)) -> JSONResponse:
    """200 once the language model is loaded, 503 before (or if loading failed). An unreachable
    LanguageTool server does not make the service unready (reports then say grammar was not
    checked); the answer says so explicitly."""
    engine = state.engine
    if engine is not None:
        fallback = engine.lm_fallback  # UNSPIN_LM=auto did not get the transformer: why
        body = Readiness(ready=True, lm=engine.lm_name, detail="ready" if not fallback else f"ready; {fallback}",
                         grammar=await _grammar(state))
    else:
        detail = f"failed to load: {state.load_error}" if state.load_error else "loading the language model"
        body = Readiness(ready=False, detail=detail, grammar=await _grammar(state))
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(state: AppState = Depends(get_state)) -> Response:
    """The Prometheus metrics of this process, with the number of requests running or waiting now."""
    state.metrics.pending.set(state.gate.pending)
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
