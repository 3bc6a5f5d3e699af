"""The command line's long runs: progress (a bar on a terminal, plain lines elsewhere when asked with
``--progress``, nothing otherwise; the output on stdout the same either way) and ``--second-look``
(the second look's setting for one run, the minutes it costs).

Fast: no language model is loaded (a stand-in engine scores for ``unspin eval`` and ``unspin score``).
"""

from __future__ import annotations

import io
import json
import re

import pytest

import service.progress as progress
from service.cli import main
from service.progress import LineWriter, bar, shown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def every_update(monkeypatch):
    """Lines as often as the bars update (the shipped interval is 30 s, longer than a test)."""
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)


def test_line_writer_turns_redraws_into_lines():
    out = io.StringIO()
    w = LineWriter(out)
    for drawn in ("\rread: 1/3 doc", "\rread: 2/3 doc   ", "\x1b[A\rread: 2/3 doc", "\r" + " " * 20 + "\r",
                  "\n\x1b[A\rread: 3/3 doc\n"):
        w.write(drawn)
        assert out.getvalue().count("\n") <= 3  # nothing is written before a flush
        w.flush()
    # one line per status; the same status drawn again and a bar clearing itself add none
    assert out.getvalue() == "read: 1/3 doc\nread: 2/3 doc\nread: 3/3 doc\n"
    assert not w.isatty()


def test_bars_as_lines_where_stderr_is_not_a_terminal(every_update):
    log = io.StringIO()
    assert list(bar(range(3), desc="gold", unit="doc", stream=log, show=True)) == [0, 1, 2]
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines[0].startswith("gold: 0/3 doc [")
    assert [re.match(r"gold: (\d)/3 doc \[", x).group(1) for x in lines][-1] == "3"
    with bar(total=5, desc="clean sentences", unit="sentence", stream=log, show=True) as b:
        b.set_postfix_str("1,000 words/s", refresh=False)
        b.update(5)
    assert log.getvalue().splitlines()[-1].startswith("clean sentences: 5/5 sentence [")
    assert "1,000 words/s" in log.getvalue()
    log = io.StringIO()
    assert list(bar(iter("ab"), desc="read", stream=log, show=True)) == ["a", "b"]  # no length: counts only
    assert log.getvalue().splitlines()[-1].startswith("read: 2 it [")


def test_one_line_per_interval_at_most(monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL", 3600.0)
    log = io.StringIO()
    for _ in bar(range(1000), desc="gold", stream=log, show=True):
        pass
    assert len(log.getvalue().splitlines()) <= 3  # the first, perhaps one more, the last


def test_bars_on_a_terminal_redraw_in_place_and_none_when_not_shown():
    tty = Terminal()
    list(bar(range(3), desc="gold", stream=tty, show=True))
    assert "\r" in tty.getvalue() and "gold" in tty.getvalue()
    quiet = Terminal()
    list(bar(range(3), desc="gold", stream=quiet, show=False))
    assert quiet.getvalue() == ""
    for stream in (Terminal(), io.StringIO()):  # nothing to do shows nothing
        assert list(bar([], desc="clean", stream=stream, show=True)) == []
        with bar(total=0, desc="clean sentences", stream=stream, show=True) as b:
            b.update(0)
        assert stream.getvalue() == ""
    assert shown(Terminal(), None) and not shown(io.StringIO(), None)
    assert shown(io.StringIO(), True) and not shown(Terminal(), False)
    assert not shown(object(), None)  # a stream that cannot say is no terminal


class StandInEngine:
    """Scores like the engine as far as the commands look: one spun span per "optimal pressure"."""

    grammar = None
    lm_name = "stand-in"

    def __init__(self) -> None:
        from service.config import Settings

        self.settings = Settings()

    def score(self, text: str, progress=None, path: str | None = None, **_):
        from service.report import Report, Span, Stats, Suggestion

        if progress is not None:  # a second look over two slots, as the real engine hands it over
            list(progress([0, 1]))
        at = text.find("optimal pressure")
        spans = [] if at < 0 else [Span(start=at, end=at + 7, text="optimal", score=0.9,
                                        suggestions=[Suggestion(text="maximum", score=0.9)])]
        return Report(score=0.9 if spans else 0.1, label="spun" if spans else "clean", lm="stand-in",
                      stats=Stats(words=len(text.split()), sentences=1, seconds=0.0), spans=spans, path=path)

    def score_many(self, texts):
        return [self.score(t) for t in texts]

    def score_near(self, text: str, phrases, progress=None):
        """The report, and no span near any phrase (``unspin eval --details`` asks)."""
        from service.analysis import NearMisses

        return NearMisses(self.score(text, progress), [None] * len(phrases), None)


@pytest.fixture
def stand_in(monkeypatch):
    from unspin_env import isolate

    isolate(monkeypatch)
    monkeypatch.setattr("service.engine.get_engine", lambda settings=None: StandInEngine())


TEXTS = {"a.txt": "The campaign of optimal pressure went on.\n", "b.txt": "Talks resumed on Tuesday.\n"}


@pytest.fixture
def folder(tmp_path):
    for name, text in TEXTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    gold = [{"path": "a.txt", "spans": [{"start": 16, "end": 23, "text": "optimal", "original": "maximum"}]},
            {"path": "b.txt", "spans": []}]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("command", ["eval", "score"])
def test_progress_flag_in_a_log_and_the_same_output(runner, stand_in, folder, every_update, command):
    if command == "eval":
        args = ["eval", "--gold", str(folder / "gold.jsonl"), "--json"]
    else:
        args = ["score", "--format", "jsonl", str(folder / "a.txt"), str(folder / "b.txt")]
    outs = {}
    for flag in (None, "--progress", "--no-progress"):
        res = runner.invoke(main, args + ([flag] if flag else []), catch_exceptions=False)
        assert res.exit_code == 0, res.output + res.stderr
        outs[flag] = [json.loads(x) for x in res.stdout.splitlines()] if command == "score" else json.loads(res.stdout)
        err = res.stderr
        if flag == "--progress":  # plain lines, no carriage returns or cursor movements, how far each bar got
            assert "\r" not in err and "\x1b" not in err
            assert "second look: 2/2 slot [" in err
            if command == "eval":
                assert "gold: 2/2 doc [" in err and "clean" not in err  # no clean documents: no bar for them
            else:
                assert "scoring: 2/2 doc [" in err and "2 of 2 documents scored" in err
        else:  # the test's stderr is no terminal: nothing unless asked
            assert "second look" not in err and "doc [" not in err
    for reports in (outs[None], outs["--progress"], outs["--no-progress"]):
        if command == "score":
            for r in reports:
                r["stats"]["seconds"] = 0
    assert outs[None] == outs["--progress"] == outs["--no-progress"]
    if command == "eval":
        assert outs[None]["n_matched"] == 1 and outs[None]["recall"] == 1.0


def test_make_data_shows_its_sets_with_progress(runner, stand_in, tmp_path, every_update):
    corpus = tmp_path / "corpus.jsonl"
    body = "The company said on Tuesday that profits rose sharply in the third quarter of the year. " * 3
    corpus.write_text("".join(json.dumps({"id": str(i), "body": body}) + "\n" for i in range(40)), encoding="utf-8")
    res = runner.invoke(main, ["make-data", "--corpus", str(corpus), "--out", str(tmp_path / "out"), "--train", "3",
                               "--test", "2", "--progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    assert "train: 3/3 doc [" in res.stderr and "test: 2/2 doc [" in res.stderr and "\r" not in res.stderr
    quiet = runner.invoke(main, ["make-data", "--corpus", str(corpus), "--out", str(tmp_path / "quiet"), "--train", "3",
                                 "--test", "2"], catch_exceptions=False)
    assert quiet.exit_code == 0 and "train:" not in quiet.stderr
    assert (tmp_path / "out" / "train.jsonl").read_text() == (tmp_path / "quiet" / "train.jsonl").read_text()


@pytest.mark.parametrize("command", ["score", "eval", "make-data", "train", "train-second-look", "train-detector",
                                     "train-corrector", "train-garble", "eval-garble", "prepare"])
def test_every_long_command_takes_the_flag(runner, command):
    res = runner.invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "--progress / --no-progress" in res.stdout


# ----------------------------------------------------------------------------- --second-look


@pytest.mark.parametrize("command", ["score", "eval"])
@pytest.mark.parametrize("env, flag, expected", [
    ("on", "off", "off"), ("off", "on", "on"), ("off", "auto", "auto"), ("on", None, "on"), (None, None, "auto"),
])  # fmt: skip
def test_second_look_flag_sets_it_for_the_run(runner, monkeypatch, folder, command, env, flag, expected):
    """``--second-look`` is UNSPIN_SECOND_LOOK for one run: the engine is loaded with it, so the
    report is the one the variable would give (the API's "second_look": false gives the same)."""
    from unspin_env import isolate

    isolate(monkeypatch)
    if env is None:
        monkeypatch.delenv("UNSPIN_SECOND_LOOK")
    else:
        monkeypatch.setenv("UNSPIN_SECOND_LOOK", env)
    loaded = []

    def get_engine(settings=None):
        loaded.append(settings.second_look)
        return StandInEngine()

    monkeypatch.setattr("service.engine.get_engine", get_engine)
    args = (["eval", "--gold", str(folder / "gold.jsonl")] if command == "eval"
            else ["score", "--format", "jsonl", str(folder / "a.txt")])
    res = runner.invoke(main, args + (["--second-look", flag] if flag else []), catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    assert loaded == [expected]


def test_second_look_flag_refuses_other_values(runner):
    res = runner.invoke(main, ["score", "--second-look", "maybe", "x.txt"])
    assert res.exit_code == 2 and "'maybe' is not one of 'auto', 'on', 'off'" in res.stderr
