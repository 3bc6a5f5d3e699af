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
    _fresh(page)  # the text box, whether a test before left the results shown or not
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


def _fresh(page) -> None:
    if page.is_visible("#edit"):
        page.click("#edit")


def _marks(page) -> dict[int, str]:
    """Each mark's span index and the letters it holds."""
    return {int(i): t for i, t in page.eval_on_selector_all(
        "#output mark", "els => els.map(e => [e.dataset.i, e.textContent])")}


def test_page_draws_every_span_of_overlapping_ones(browser_page, seeds, engine):
    """Spans that overlap (a word disguised with look-alike letters inside a spun phrase) each get a
    mark on their own letters; a click offers the spun phrase and the word; applying one of them
    leaves no mark on letters that are gone, and Copy clean text still follows ``unspin restore``."""
    from service.restore import restore
    from test_homoglyphs import disguise

    page, errors = browser_page
    text = disguise(seeds[SEED_SPUN])
    report = engine.score(text)
    inside = [(i, j) for i, s in enumerate(report.spans) for j, f in enumerate(report.spans)
              if s.kind == "spun" and f.kind == "formatting" and s.start <= f.start and f.end <= s.end]
    assert len(inside) >= 3  # the case this test is about is there
    _fresh(page)
    page.fill("#input", text)
    page.evaluate("delete document.body.dataset.clean")
    page.click("#check")
    page.wait_for_selector("#output mark.spun", timeout=60_000)
    assert _marks(page) == {i: s.text for i, s in enumerate(report.spans)}

    # a click on the disguised word inside a spun phrase offers both, the word's own first
    i, j = inside[0]
    page.click(f'#output mark[data-i="{j}"]')
    headings = page.locator("#popover h2").all_inner_texts()
    assert [h.split(" ·")[0] for h in headings] == ["formatting", "spun"]
    # the Latin letters first: the spun phrase stays, holding them, and is still offered
    page.locator("#popover section").nth(0).locator("button.apply").first.click()
    fixed = report.spans[j].suggestions[0].text
    assert page.locator(f'#output mark[data-i="{i}"]').text_content().count(fixed) == 1
    page.click("#copy-clean")
    page.wait_for_function("document.body.dataset.clean !== undefined")
    assert page.evaluate("document.body.dataset.clean") == restore(text, report)

    # then the spun phrase of another pair: the word inside it has no mark left, every mark sits on
    # its span's letters in the edited text
    i2, j2 = next((a, b) for a, b in inside if a != i)
    page.focus(f'#output mark[data-i="{i2}"]')  # the phrase's own mark (a click may land on the word inside)
    page.keyboard.press("Enter")
    assert page.locator("#popover h2").first.inner_text().startswith("spun")
    page.locator("#popover section").first.locator("button.apply").first.click()
    edited = page.input_value("#input")
    spans = page.evaluate("state.report.spans")
    marks = _marks(page)
    assert j2 not in marks
    chars = list(edited)
    for k, letters in marks.items():
        assert "".join(chars[spans[k]["start"]:spans[k]["end"]]) == letters == spans[k]["text"]
    assert errors == []


def test_page_keyboard_opens_a_highlight_without_applying_it(browser_page, seeds):
    """Enter on a focused highlight opens its suggestions (it used to apply the first at once);
    Escape closes them and gives the focus back to the highlight."""
    page, errors = browser_page
    text = seeds[SEED_SPUN]
    _fresh(page)
    page.fill("#input", text)
    page.click("#check")
    page.wait_for_selector("#output mark.spun", timeout=60_000)
    mark = page.locator("#output mark.spun").first
    mark.focus()
    page.keyboard.press("Enter")
    assert page.is_visible("#popover")
    assert page.input_value("#input") == text
    assert page.evaluate("document.activeElement.classList.contains('apply')")
    page.keyboard.press("Escape")
    assert not page.is_visible("#popover")
    assert page.evaluate("document.activeElement.tagName") == "MARK"
    # the status line is seen with the results
    assert page.is_visible("#status") and "Checked in" in page.inner_text("#status")
    assert errors == []


def test_page_runs_one_check_at_a_time(browser_page, seeds):
    """While a check runs, Ctrl+Enter sends nothing more and the text cannot be edited (the results
    belong to the text sent); Cancel stops it."""
    page, errors = browser_page
    _fresh(page)
    page.fill("#input", seeds[SEED_SPUN])
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/v1/score") else None)
    release = []

    def slow(route):  # hold the answer until the test has tried to send more
        release.append(route)

    page.route("**/v1/score", slow)
    try:
        page.click("#check")
        page.wait_for_function("document.getElementById('input').readOnly")
        page.focus("#input")
        page.keyboard.press("Control+Enter")
        page.keyboard.press("Control+Enter")
        page.wait_for_timeout(300)
        assert len(sent) == 1
        # a full check can take minutes: the page says so, and counts the seconds beside Cancel
        assert "a minute or more" in page.inner_text("#status")
        page.wait_for_function("document.getElementById('elapsed').textContent === '2 s'", timeout=10_000)
        assert page.is_visible("#elapsed")
        page.click("#cancel")
        page.wait_for_function("!document.getElementById('input').readOnly")
        assert "cancelled" in page.inner_text("#status")
        assert page.is_enabled("#check") and not page.is_visible("#cancel") and not page.is_visible("#elapsed")
    finally:
        page.unroute("**/v1/score")
        for route in release:
            try:
                route.abort()
            except Exception:  # the page cancelled it already
                pass
    assert errors == []


def test_page_says_when_the_api_key_cannot_be_sent(browser_page):
    """A key with a character a header cannot carry is named as the problem, and nothing is sent;
    fetch had thrown, and the page had said it could not reach the service."""
    page, errors = browser_page
    sent = []
    page.route("**/v1/score", lambda route, request: (sent.append(request), route.continue_()))
    try:
        _fresh(page)
        page.evaluate("localStorage.setItem('unspin-key', 'caf\u00e9')")
        page.fill("#input", "The cat sat on the mat.")
        page.click("#check")
        assert "API key can hold only printable ASCII" in page.inner_text("#status")
        assert page.is_visible("#key-box") and not sent
    finally:
        page.evaluate("localStorage.removeItem('unspin-key')")
        page.unroute("**/v1/score")
    assert errors == []


def test_page_says_what_came_back_when_it_is_not_a_report(browser_page):
    """A proxy's HTML error page is quoted in words (not as "{}"), and a 200 that is not a report is
    not blamed on the network."""
    page, errors = browser_page
    cases = [(502, "<html><body><h1>Bad gateway</h1></body></html>", "Error 502: Bad gateway"),
             (200, "<html><body>Please sign in</body></html>", "not with a report")]
    for status, body, said in cases:
        def answer(route, _request, s=status, b=body):
            route.fulfill(status=s, body=b, content_type="text/html")

        page.route("**/v1/score", answer)
        try:
            _fresh(page)
            page.fill("#input", "The cat sat on the mat.")
            page.click("#check")
            page.wait_for_function("document.getElementById('status').textContent.length > 0 && "
                                   "!document.getElementById('check').disabled")
            assert said in page.inner_text("#status")
            assert page.is_visible("#input-pane")
        finally:
            page.unroute("**/v1/score")
    assert errors == []


def test_page_opens_a_file_that_is_not_utf8(browser_page):
    """A cp1252 file is read as the command line reads it with ``--encoding cp1252`` and the status
    says so; the same file can be opened again after editing."""
    page, errors = browser_page
    _fresh(page)
    text = "Café naïve résumé: “quoted”."
    for _ in range(2):
        page.set_input_files("#file", files=[{"name": "old.txt", "mimeType": "text/plain",
                                               "buffer": text.encode("cp1252")}])
        page.wait_for_function("document.getElementById('input').value.length > 0")
        assert page.input_value("#input") == text
        assert "Windows-1252" in page.inner_text("#status")
        page.fill("#input", "")
    assert errors == []
