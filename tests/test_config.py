"""Settings checked when they are read (service/config.py): a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.config import Settings, settings_error


def _error(**values) -> str:
    with pytest.raises(ValidationError) as err:
        Settings(**values)
    return settings_error(err.value)


def test_cache_dir_that_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "UNSPIN_CACHE_DIR" in _error(cache_dir=afile) and "not a folder" in _error(cache_dir=afile)
    message = _error(cache_dir=afile / "sub" / "dir")  # cannot be created under a file
    assert "UNSPIN_CACHE_DIR" in message and "cannot create" in message


def test_cache_dir_that_exists_or_can_be_created(tmp_path: Path) -> None:
    assert Settings(cache_dir=tmp_path).cache_dir == tmp_path
    assert Settings(cache_dir=tmp_path / "new" / "cache").cache_dir == tmp_path / "new" / "cache"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_bad_cache_dir_stops_the_cli_with_a_usage_error(tmp_path: Path, runner, monkeypatch) -> None:
    from service.cli import main

    afile = tmp_path / "afile"
    afile.write_text("x")
    for value in (afile, afile / "sub"):
        monkeypatch.setenv("UNSPIN_CACHE_DIR", str(value))
        result = runner.invoke(main, ["prepare", "--words", "0"])
        assert result.exit_code == 2, result.output
        assert "UNSPIN_CACHE_DIR" in result.stderr and "Traceback" not in result.stderr


def test_a_setting_of_two_types_is_named_once() -> None:
    """UNSPIN_SPUN_DOC_THRESHOLD takes a number or 'off': a bad value names the variable, not pydantic's branches."""
    message = _error(spun_doc_threshold="abc")
    assert message.splitlines() == [
        "invalid configuration: UNSPIN_SPUN_DOC_THRESHOLD='abc': Input should be a valid number, unable to parse "
        "string as a number or Input should be 'off'"
    ]
    assert "UNSPIN_SPUN_DOC_THRESHOLD=2.0" in _error(spun_doc_threshold=2.0)


def test_word_settings_are_read_in_any_case(monkeypatch) -> None:
    """``OFF`` or `` Auto `` (a compose file's capitals, a stray space) is the documented word, not an
    error; a word that is none of them still names its variable."""
    monkeypatch.setenv("UNSPIN_SPUN_DOC_THRESHOLD", "OFF")
    monkeypatch.setenv("UNSPIN_SECOND_LOOK", " Off ")
    monkeypatch.setenv("UNSPIN_LM", "NGRAM")
    monkeypatch.setenv("UNSPIN_QUANTIZE", "Int8")
    monkeypatch.setenv("UNSPIN_LANGUAGETOOL_LEVEL", "Picky")
    s = Settings()
    assert (s.spun_doc_threshold, s.second_look, s.lm, s.quantize, s.languagetool_level) == ("off", "off", "ngram", "int8", "picky")
    monkeypatch.setenv("UNSPIN_SPUN_DOC_THRESHOLD", " 0.25 ")
    assert Settings().spun_doc_threshold == 0.25
    monkeypatch.setenv("UNSPIN_SECOND_LOOK", "sometimes")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "UNSPIN_SECOND_LOOK" in settings_error(err.value)


def test_cache_dir_where_no_folder_can_be_made_or_blank(tmp_path: Path) -> None:
    """An existing folder where no folder can be made (here /proc, for every user) and a blank
    value are errors naming the variable now; before, the first cache failed with a traceback, and
    a blank value made a folder named " " in the working directory."""
    message = _error(cache_dir=Path("/proc"))
    assert "UNSPIN_CACHE_DIR" in message and "cannot create folders in /proc" in message
    assert "UNSPIN_CACHE_DIR" in _error(cache_dir=Path(" ")) and "blank" in _error(cache_dir=Path(" "))
    assert not list(tmp_path.iterdir())
    assert Settings(cache_dir=tmp_path).cache_dir == tmp_path and not list(tmp_path.iterdir())  # the probe is gone


@pytest.mark.parametrize("name", ["languagetool_timeout", "languagetool_ping_timeout"])
@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "0"])
def test_languagetool_timeouts_are_finite(name: str, value: str) -> None:
    """An endless timeout is refused: 'inf' had been taken, and every check then failed inside the
    HTTP client ("timestamp out of range"), reported only as grammar not checked."""
    assert f"UNSPIN_{name.upper()}" in _error(**{name: value})
    assert getattr(Settings(**{name: "3600"}), name) == 3600


def test_languagetool_language_is_a_language_code(monkeypatch) -> None:
    """The code LanguageTool is asked in is read without the spaces around it (a compose file's
    " en-GB " had been sent as it was, and refused on every check); a value that is no language
    code names the variable."""
    monkeypatch.setenv("UNSPIN_LANGUAGETOOL_LANGUAGE", " en-GB ")
    assert Settings().languagetool_language == "en-GB"
    for code in ("auto", "de-DE-x-simple-language", "ca-ES-valencia", "en_US", "pt"):
        assert Settings(languagetool_language=code).languagetool_language == code
    for bad in ("en US", "english!", "e", "en-"):
        assert "UNSPIN_LANGUAGETOOL_LANGUAGE" in _error(languagetool_language=bad)


def test_unspin_ltp_path_wins_over_ltp_path(monkeypatch, tmp_path: Path) -> None:
    """Both names set: unspin's own is the one used (LTP_PATH, read by other tools too, had won)."""
    monkeypatch.setenv("LTP_PATH", str(tmp_path / "a"))
    monkeypatch.setenv("UNSPIN_LTP_PATH", str(tmp_path / "b"))
    assert Settings().ltp_path == tmp_path / "b"
    monkeypatch.delenv("UNSPIN_LTP_PATH")
    assert Settings().ltp_path == tmp_path / "a"


def test_api_keys_name_a_key_a_client_can_send() -> None:
    """A value of commas and spaces alone names no key (it had left the service open without a
    word); a key that is not printable ASCII could never be sent in a header."""
    assert Settings(api_keys=" k1 , k2,").api_keys == " k1 , k2,"
    for bad in (" , ", ",", "k1,caf\u00e9", "k1,a b", "k\x01"):
        assert "UNSPIN_API_KEYS" in _error(api_keys=bad), bad


def test_auto_is_read_in_any_case_as_the_language(monkeypatch) -> None:
    """'AUTO' had been refused as "not a language code such as … or auto", though word settings
    are read in any case."""
    for value in ("AUTO", " Auto "):
        monkeypatch.setenv("UNSPIN_LANGUAGETOOL_LANGUAGE", value)
        assert Settings().languagetool_language == "auto"


@pytest.mark.parametrize("name, value", [("max_chars", "10000000000"), ("max_chars", "99999999999999999999"),
                                         ("second_look_threads", "1000"), ("torch_threads", "100000")])
def test_settings_that_would_exhaust_the_machine_are_refused(name: str, value: str) -> None:
    """A huge UNSPIN_MAX_CHARS had made every document an internal error (MemoryError, or
    OverflowError) and standard input a traceback; a thousand second-look threads had been started
    at once when the engine loaded ("can't start new thread", then a flood of BrokenBarrierError);
    a hundred thousand torch threads had ended in a segmentation fault."""
    assert f"UNSPIN_{name.upper()}" in _error(**{name: value})


def test_the_error_names_the_value_as_the_environment_holds_it(monkeypatch) -> None:
    """A word setting is trimmed before it is checked; the error had named the trimmed value ('')."""
    from pydantic import ValidationError

    from service.config import settings_error

    monkeypatch.setenv("UNSPIN_SECOND_LOOK", "  ")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "UNSPIN_SECOND_LOOK='  '" in settings_error(err.value)


def test_a_variable_that_is_no_setting_is_warned_about(runner, monkeypatch) -> None:
    """A misspelt name is ignored by the settings: UNSPIN_LEXICON=list.tsv had run without the list,
    and without a word."""
    from service.cli import main
    from service.config import unknown_variables

    assert unknown_variables({"UNSPIN_LEXICON": "a.tsv", "UNSPIN_LM": "ngram", "unspin_max_chars": "5000",
                              "UNSPIN_COLOUR": "x", "PATH": "/bin"}) == [
        "UNSPIN_COLOUR is not a setting of unspin; it is ignored",
        "UNSPIN_LEXICON is not a setting of unspin (did you mean UNSPIN_LEXICONS?); it is ignored",
    ]
    monkeypatch.setenv("UNSPIN_TRESHOLD", "0.5")
    result = runner.invoke(main, ["eval", "--gold", "nowhere.jsonl"])
    assert "warning: UNSPIN_TRESHOLD is not a setting of unspin (did you mean UNSPIN_THRESHOLD?); it is ignored" \
        in result.stderr


@pytest.mark.parametrize("name", ["ngram_path", "wordnet_dir", "mythes_path", "second_look_path", "ltp_path"])
def test_a_blank_path_is_refused(name: str, monkeypatch) -> None:
    """UNSPIN_MYTHES_PATH=" " had turned MyThes off without a word (nothing is at the path ' ')."""
    monkeypatch.setenv(f"UNSPIN_{name.upper()}", "  ")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert f"UNSPIN_{name.upper()}='  ': is blank" in settings_error(err.value)


def test_device_and_model_are_trimmed_and_a_blank_model_refused(monkeypatch) -> None:
    """``UNSPIN_DEVICE=CPU`` and a model folder with a stray space had been refused as no such
    device or folder; a blank ``UNSPIN_MODEL`` had reached transformers ("Repo id must use ...")."""
    monkeypatch.setenv("UNSPIN_DEVICE", " CPU ")
    monkeypatch.setenv("UNSPIN_MODEL", " /models/tiny ")
    s = Settings()
    assert (s.device, s.model) == ("cpu", "/models/tiny")
    monkeypatch.setenv("UNSPIN_MODEL", "   ")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "UNSPIN_MODEL" in settings_error(err.value) and "names no model" in settings_error(err.value)


def test_no_home_folder_for_the_default_cache_is_a_usage_error(monkeypatch):
    """``UNSPIN_CACHE_DIR`` unset, ``HOME`` unset and no password entry for the user (a container
    run under an arbitrary uid): one line saying what to set (exit 2); it had been a RuntimeError's
    traceback."""
    import pwd

    from click.testing import CliRunner

    from service.cli import main

    def no_entry(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("UNSPIN_CACHE_DIR", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    res = CliRunner().invoke(main, ["score", "-"], input=b"The cat sat on the mat.\n")
    assert res.exit_code == 2, (res.output, res.exception)
    assert "set UNSPIN_CACHE_DIR or HOME" in res.stderr and "Traceback" not in res.output + res.stderr
