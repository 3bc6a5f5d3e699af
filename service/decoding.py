"""Bytes to text, and the checks a text must pass before it is scored.

:func:`decode` turns bytes into the one string every later offset refers to (UTF-8 with or without
BOM, UTF-16/UTF-32 with BOM, or a named fallback encoding), refusing binary data;
:func:`check_text` and :func:`check_characters` refuse text that cannot be scored (empty, over the
configured length, a lone surrogate). Each refusal is an :class:`InputError` whose message says why
in plain words, for a 4xx answer or a CLI error.
"""

from __future__ import annotations

import codecs
import re


class InputError(ValueError):
    """The input cannot be scored; the message says why in plain words (for a 4xx answer)."""


class TextTooLong(InputError):
    """The text is longer than the configured limit (``UNSPIN_MAX_CHARS``; HTTP 413)."""


#: Byte-order marks and the codec each announces (longest first: UTF-32-LE starts like UTF-16-LE).
BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
#: Control characters other than the allowed ones (tab and line breaks): NUL, U+0001-U+0008, U+000E-U+001F, DEL.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
#: Text with more than this share of control characters (other than tab and line breaks) is binary.
BINARY_CONTROL_SHARE = 0.1
#: Codecs (canonical names) whose text holds NUL bytes even when it is plain letters.
WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


def count_controls(text: str) -> int:
    """How many characters of ``text`` are control characters other than tab and line breaks (NUL counts)."""
    return len(_CONTROL_RE.findall(text))


#: why text that looks binary is refused, after "the text" (or "the text/plain body")
BINARY_TEXT = "looks like binary data, not text (NUL characters, or over 10 % control characters); send text"


def looks_binary(text: str) -> bool:
    """True when ``text`` holds NUL characters or more than 10% (:data:`BINARY_CONTROL_SHARE`) other
    control characters."""
    if not text:
        return False
    if "\x00" in text:
        return True
    return count_controls(text) > BINARY_CONTROL_SHARE * len(text)


def is_wide(encoding: str | None) -> bool:
    """Whether ``encoding`` names UTF-16 or UTF-32 (in any spelling), whose bytes hold NULs even for plain letters."""
    if not encoding:
        return False
    try:
        return codecs.lookup(encoding).name in WIDE_CODECS
    except (LookupError, TypeError, ValueError):
        return False


def nul_message(encoding: str | None = None) -> str:
    """Why bytes holding NUL are refused as binary; unless ``encoding`` (the one the user named) is
    UTF-16 or UTF-32 already, with the hint that such text without a byte-order mark needs its encoding named."""
    if is_wide(encoding):
        return "looks like binary data, not text (it contains NUL characters)"
    return ("looks like binary data, not text (it contains NUL bytes); UTF-16 text without a byte-order mark "
            "needs --encoding utf-16-le or utf-16-be (UTF-32: utf-32-le or utf-32-be)")


def no_bom_message(encoding: str) -> str:
    """Why bytes without a byte-order mark cannot be read as ``encoding`` when it is ``utf-16`` or
    ``utf-32`` without a byte order: the hint names the codecs that take them."""
    name = codecs.lookup(encoding).name
    return (f"cannot be decoded as {name.upper()}: {name.upper()} stream does not start with BOM; "
            f"without a byte-order mark name the byte order: --encoding {name}-le or {name}-be")


def _decode_named(data: bytes, encoding: str) -> str:
    """``data`` (without a byte-order mark) decoded with the user's ``encoding``.

    Raises:
        InputError: ``encoding`` is ``utf-16`` or ``utf-32`` without a byte order, which bytes
            without a byte-order mark do not tell (Python would guess the machine's order).
        LookupError, UnicodeDecodeError: as :meth:`bytes.decode`.
    """
    if codecs.lookup(encoding).name in ("utf-16", "utf-32"):
        raise InputError(no_bom_message(encoding))
    return data.decode(encoding)


def decode(data: bytes, fallback: str | None = None, how_to_name: str = "name a fallback encoding such as cp1252") -> str:
    """Decode uploaded bytes into text without normalising it in any other way.

    UTF-8 is expected (a UTF-8 BOM is stripped); UTF-16 and UTF-32 are accepted with a BOM.
    When the bytes are not valid UTF-8 and ``fallback`` names an encoding (e.g. ``"cp1252"``),
    that encoding is used instead. When ``fallback`` names UTF-16 or UTF-32 with its byte order
    (``utf-16-le``), bytes without a byte-order mark that hold NUL bytes are decoded with it
    before NUL bytes would mark them as binary. ``how_to_name`` ends the message for bytes that are
    not UTF-8 without a fallback: how the caller's user names one (the command line: ``--encoding``).

    Raises:
        InputError: binary data, invalid UTF-8 without a usable fallback, an unknown fallback
            encoding, or ``utf-16``/``utf-32`` without a byte order for bytes without a byte-order mark.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
                    f"(byte offset {exc.start + len(bom)})"
                ) from None
            if looks_binary(text):
                raise InputError("looks like binary data, not text")
            return text

    if b"\x00" in data:
        if not is_wide(fallback):
            raise InputError(nul_message(fallback))
        try:  # UTF-16 or UTF-32 without a byte-order mark, named by the user: NUL bytes are expected
            text = _decode_named(data, fallback)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"looks like binary data, not text: it contains NUL bytes and is not valid {fallback.upper()} "
                f"(byte offset {exc.start})"
            ) from None
        if looks_binary(text):
            raise InputError(nul_message(fallback) if "\x00" in text else "looks like binary data, not text")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if looks_binary(data.decode("latin-1")):
            raise InputError("looks like binary data, not text") from None
        if not fallback:
            raise InputError(
                f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start}; "
                f"send UTF-8 or {how_to_name}"
            ) from None
        try:
            text = _decode_named(data, fallback)
        except LookupError:
            raise InputError(f"unknown fallback encoding {fallback!r}") from None
        except UnicodeDecodeError as exc2:
            raise InputError(
                f"neither valid UTF-8 (byte offset {exc.start}) nor valid {fallback} "
                f"(byte offset {exc2.start})"
            ) from None
    if looks_binary(text):
        raise InputError("looks like binary data, not text")
    return text


#: a UTF-16 surrogate as a character: no Unicode character, and UTF-8 cannot carry it
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_codec(name: str) -> str:
    """The canonical name of text encoding ``name`` ("UTF8" → "utf-8").

    Raises:
        InputError: when Python knows no codec of that name, or the codec is not a text encoding
            (``rot13``, ``base64``, ``zlib``: they map bytes to bytes or str to str).
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise InputError(f"unknown encoding {name!r}") from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(f"{name!r} is not a text encoding")
    return info.name


def check_text(text: str, max_chars: int) -> None:
    """Reject text that cannot be scored: empty, whitespace only, longer than ``max_chars``, or
    holding a lone surrogate code point (U+D800–U+DFFF: not a character, and not encodable).

    Raises:
        InputError: with a message naming the problem (and the limit, when too long).
    """
    if not text:
        raise InputError("the text is empty")
    if text.isspace():
        raise InputError("the text contains only whitespace")
    if len(text) > max_chars:
        raise TextTooLong(
            f"the text is {len(text):,} characters long; the limit is {max_chars:,} characters (UNSPIN_MAX_CHARS)"
        )
    check_characters(text)


def check_characters(text: str) -> None:
    """Reject text holding a lone surrogate code point (U+D800–U+DFFF): not a Unicode character,
    and not encodable, so neither the models nor the report could take it.

    Raises:
        InputError: naming the code point and its offset.
    """
    bad = LONE_SURROGATE.search(text)
    if bad:
        raise InputError(
            f"the text holds a lone surrogate (U+{ord(bad.group()):04X}) at character offset {bad.start()}: "
            "not a Unicode character"
        )


__all__ = [
    "BOMS",
    "BINARY_CONTROL_SHARE",
    "LONE_SURROGATE",
    "InputError",
    "TextTooLong",
    "check_characters",
    "check_text",
    "count_controls",
    "decode",
    "is_wide",
    "looks_binary",
    "no_bom_message",
    "nul_message",
    "text_codec",
]
