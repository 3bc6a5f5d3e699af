"""The web page in a real headless Chromium: paste the spun seed, see highlights, apply a suggestion,
copy the clean text. Driven by Playwright against the system's Chromium (no browser download)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from live_server import serve
from service.api import create_app
from service.config import Settings

SEED_SPUN = "002_2ef1442c87ee1781.txt"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no Chromium on this machine (scripts/setup.sh installs Debian's chromium)")


@pytest.fixture(scope="module")
def browser_page(engine):
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = _chromium()
    with serve(create_app(Settings(lm="ngram"), engine=engine)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        yield page, errors
        browser.close()


def test_page_highlights_applies_and_copies(browser_page, seeds, engine, tmp_path):
    page, errors = browser_page
    text = seeds[SEED_SPUN]
    expected = [s for s in engine.score(text).spans if s.kind == "spun"]
    assert expected

    page.fill("#input", text)
    page.click("#check")
    page.wait_for_selector("#output mark.spun", timeout=60_000)
    marks = page.locator("#output mark.spun")
    assert marks.count() == len(expected)
    # highlights sit on exactly the report's spans, and the page shows the whole text unchanged
    assert [marks.nth(i).inner_text() for i in range(marks.count())] == [s.text for s in expected]
    assert page.inner_text("#output") == text.replace("\r\n", "\n") or page.eval_on_selector(
        "#output", "el => el.textContent") == text
    assert page.locator("#heat span").count() >= 10  # one strip segment per sentence
    assert page.inner_text("#doc-label") in ("clean", "suspicious", "spun")

    page.screenshot(path=str(tmp_path / "page.png"), full_page=False)
    if os.environ.get("UNSPIN_SCREENSHOT"):
        page.screenshot(path=os.environ["UNSPIN_SCREENSHOT"], full_page=False)

    # click the first highlight: its suggestions appear; apply the first one
    first = expected[0]
    marks.nth(0).click()
    page.wait_for_selector("#popover:not([hidden]) button.apply")
    page.locator("#popover button.apply").first.click()
    applied = first.suggestions[0].text
    assert page.locator("#output mark.applied").first.inner_text() == applied
    edited = page.input_value("#input")
    assert edited == text[: first.start] + applied + text[first.end :]
    assert page.locator("#output mark.spun:not(.applied)").count() == len(expected) - 1

    # copy clean text: the applied span as applied, every other spun span sure enough to be replaced
    # (service.restore.MIN_SCORE) by its first suggestion
    from service.restore import MIN_SCORE

    page.click("#copy-clean")
    page.wait_for_function("document.body.dataset.clean !== undefined")
    clean = page.evaluate("document.body.dataset.clean")
    want = text
    for s in sorted([first] + [s for s in expected[1:] if s.score >= MIN_SCORE], key=lambda s: -s.start):
        want = want[: s.start] + s.suggestions[0].text + want[s.end :]
    assert clean == want
    assert errors == []


def test_page_reports_errors_in_plain_words(browser_page):
    page, errors = browser_page
    page.click("#edit")
    page.fill("#input", "   ")
    page.click("#check")
    assert "Paste or drop a text first" in page.inner_text("#status")
    assert errors == []


def test_page_marks_the_spans_the_document_verdict_added(browser_page, seeds, engine, monkeypatch):
    """Spans listed only because the document was judged spun (the second threshold) look
    different and say why, on hover and in their popover."""
    page, errors = browser_page
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"spun_doc_threshold": 0.06}))
    text = seeds[SEED_SPUN]
    report = engine.score(text)
    added = [s for s in report.spans if s.kind == "spun" and s.by_document_verdict]
    assert added and len(added) < sum(s.kind == "spun" for s in report.spans)
    if page.is_visible("#edit"):
        page.click("#edit")
    page.fill("#input", text)
    page.click("#check")
    page.wait_for_selector("#output mark.spun.by-doc", timeout=60_000)
    marks = page.locator("#output mark.spun.by-doc")
    assert [marks.nth(i).inner_text() for i in range(marks.count())] == [s.text for s in added]
    assert "document reads as spun" in marks.first.get_attribute("title")
    marks.first.click()
    page.wait_for_selector("#popover:not([hidden]) .by-doc-note")
    assert "document as a whole reads as spun" in page.inner_text("#popover")
    page.keyboard.press("Escape")
    assert errors == []


def test_page_quick_check_asks_without_the_second_look(browser_page):
    """The "quick check" box sends the option that leaves the second look out; unticked, the page
    asks for the service's default."""
    page, errors = browser_page
    text = "The minister stated on Tuesday that the talks would resume."
    bodies = []
    for quick in (True, False):
        if page.is_visible("#edit"):
            page.click("#edit")
        page.fill("#input", text)
        page.set_checked("#quick", quick)
        with page.expect_request("**/v1/score") as asked:
            page.click("#check")
        bodies.append(asked.value.post_data_json)
        page.wait_for_selector("#result-pane:not([hidden])")
    assert bodies == [{"text": text, "options": {"second_look": False}}, {"text": text}]
    assert errors == []


def test_page_says_when_the_text_is_not_english(browser_page):
    """A French text is not passed off as clean: the page says why its verdict says nothing; an
    English one shows no such note."""
    from test_language import ENGLISH, FRENCH

    page, errors = browser_page
    for text, shown in ((FRENCH, True), (ENGLISH, False)):
        if page.is_visible("#edit"):
            page.click("#edit")
        page.fill("#input", text)
        page.click("#check")
        page.wait_for_selector("#result-pane:not([hidden])")
        assert page.is_visible("#language-note") is shown
        if shown:
            assert "Not English: the text reads as French" in page.inner_text("#language-note")
    assert errors == []


def test_page_copies_the_text_unspin_restore_writes(browser_page, seeds, engine):
    """*Copy clean text* follows the rule of ``unspin restore`` (service.restore): spun spans'
    first suggestions and disguised words in Latin letters, also where the two overlap."""
    from service.restore import restore
    from test_homoglyphs import disguise

    page, errors = browser_page
    text = disguise(seeds[SEED_SPUN])
    report = engine.score(text)
    assert any(s.kind == "formatting" for s in report.spans) and any(s.kind == "spun" for s in report.spans)
    if page.is_visible("#edit"):
        page.click("#edit")
    page.fill("#input", text)
    page.evaluate("delete document.body.dataset.clean")
    page.click("#check")
    page.wait_for_selector("#output mark.spun", timeout=60_000)
    page.click("#copy-clean")
    page.wait_for_function("document.body.dataset.clean !== undefined")
    assert page.evaluate("document.body.dataset.clean") == restore(text, report)
    assert errors == []
