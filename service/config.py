"""Settings from the environment (``UNSPIN_*``), documented in one place.

Every knob of the engine, the CLI and the HTTP service is read here and nowhere else.
The README's "Configuration" table mirrors this class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "unspin"


class Settings(BaseSettings):
    """All runtime configuration. Field ``foo`` is read from ``UNSPIN_FOO``."""

    model_config = SettingsConfigDict(env_prefix="UNSPIN_", extra="ignore")

    lm: Literal["auto", "ngram", "transformer"] = Field(
        "auto",
        description="Which language model scores text: 'ngram' (embedded CMU 3-gram), "
        "'transformer' (masked LM named by UNSPIN_MODEL, fails if it cannot load), or "
        "'auto' (transformer when its weights are on this machine, never downloading; else n-gram; the report says which ran).",
    )
    model: str = Field(
        "distilroberta-base",
        description="Hugging Face id or local directory of the masked LM for the transformer backend.",
    )
    device: str = Field("cpu", description="torch device for the transformer backend ('cpu', 'cuda', 'cuda:0').")
    ngram_path: Path | None = Field(
        None, description="An ARPA or Sphinx binary n-gram LM; default: the one inside the pocketsphinx wheel."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where derived model indexes (bigram tables, WordNet folder) are cached.",
    )
    wordnet_dir: Path = Field(
        Path("/usr/share/wordnet"), description="WordNet 3.0 database files (Debian's wordnet-base)."
    )
    mythes_path: Path | None = Field(
        Path("/usr/share/mythes/th_en_US_v2.dat"),
        description="LibreOffice MyThes thesaurus (.dat); used when present, skipped when absent.",
    )
    lexicons: str = Field(
        "",
        description="Phrase lists of known spun -> original pairs, separated by the OS path "
        "separator (':' on Linux). TSV/CSV 'spun<TAB>original' or a PPS export.",
    )
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Span score at or above which a span is reported; unset: the threshold calibrated "
        "on clean Reuters text and stored with the fusion model.",
    )
    max_suggestions: int = Field(5, ge=1, le=50, description="Suggestions kept per span.")
    max_chars: int = Field(200_000, ge=1, description="Longest text (in characters) one request may score.")
    languagetool_url: str | None = Field(
        None, description="Base URL of a LanguageTool server (e.g. http://localhost:8081); unset: grammar not checked."
    )


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; call again to pick up changes)."""
    return Settings()
