"""The web page in a real headless Chromium: paste the spun seed, see highlights, apply a suggestion,
copy the clean text. Driven by Playwright against the system's Chromium (no browser download)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
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
def browser_context(engine):
    """A browser context and the URL of a served app; :func:`browser_page` is its one shared page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = _chromium()
    with serve(create_app(Settings(lm="ngram"), engine=engine)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        # the page's Content-Security-Policy forbids evaluating strings, which Playwright's
        # wait_for_function does; test_page_and_its_files_are_asked_for_again_after_an_upgrade runs
        # the page under it
        context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        yield context, url
        browser.close()


@pytest.fixture(scope="module")
def browser_page(browser_context):
    context, url = browser_context
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    yield page, errors


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


def test_page_says_when_grammar_was_checked_only_in_part(browser_page, engine, monkeypatch):
    """Grammar checked but not completely (LanguageTool said its results are incomplete) is said with
    the reason, as grammar not checked is; a complete check shows no note."""
    from service.grammar import GrammarResult
    from service.report import GrammarStatus

    why = "LanguageTool's results are incomplete: text checking took longer than allowed maximum of 10.000 seconds"

    class Checker:  # a configured LanguageTool answering with this status
        server = "http://languagetool.test"
        complete = True

        def check(self, text, options=None):
            return GrammarResult(status=GrammarStatus(checked=True, complete=self.complete,
                                                      reason="" if self.complete else why, server=self.server))

    checker = Checker()
    monkeypatch.setattr(engine, "grammar", checker)
    page, errors = browser_page
    for complete, text in ((False, "The ministers met on Monday."), (True, "The ministers met on Tuesday.")):
        checker.complete = complete
        _fresh(page)
        page.fill("#input", text)
        page.click("#check")
        page.wait_for_selector("#result-pane:not([hidden])")
        assert page.is_visible("#grammar-note") is not complete
        if not complete:
            assert page.inner_text("#grammar-note") == "Grammar checked only in part: " + why
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


@contextmanager
def _held_answers(page):
    """Within the block, /v1/score requests get no answer (a long check); after it they are
    dropped (the page has usually cancelled them already)."""
    held = []
    page.route("**/v1/score", lambda route: held.append(route))
    try:
        yield held
    finally:
        page.unroute("**/v1/score")
        for route in held:
            try:
                route.abort()
            except Exception:  # cancelled by the page already
                pass


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
    # as before any full check's report (the test engine's reports show one model: the page then
    # stops promising a long wait, see test_page_says_a_deletion_and_does_not_promise_...)
    page.evaluate("state.fullIsQuick = false")
    with _held_answers(page):  # the answer held until the test has tried to send more
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


def _checked(page, text: str) -> None:
    """Check ``text`` from the text box and wait for its results."""
    _fresh(page)
    page.fill("#input", text)
    page.click("#check")
    page.wait_for_selector("#result-pane:not([hidden])", timeout=60_000)


def test_page_works_under_a_path_prefix(browser_context):
    """Behind a proxy that serves the app under /unspin/, the page loads its script and style and
    checks a text: its URLs are relative (they had been absolute, and the page was dead there)."""
    context, url = browser_context
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    missed: list[str] = []
    page.on("response", lambda r: missed.append(r.url) if r.status == 404 else None)

    def strip_prefix(route, request):  # the proxy: /unspin/X is the app's /X; anything else is not found
        path = request.url[len(url):]
        if not path.startswith("/unspin/"):
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(response=route.fetch(url=url + path[len("/unspin"):]))

    page.route(url + "/**", strip_prefix)
    try:
        page.goto(url + "/unspin/")
        page.fill("#input", "The minister stated on Tuesday that the talks would resume.")
        page.click("#check")
        page.wait_for_selector("#result-pane:not([hidden])", timeout=60_000)
        assert "Checked in" in page.inner_text("#status")
        assert page.eval_on_selector("#check", "b => getComputedStyle(b).borderRadius") == "6px"  # app.css applied
        assert missed == [] and errors == []
    finally:
        page.close()


def test_page_works_when_the_browser_blocks_site_data(browser_context):
    """A browser that refuses the page its storage (cookies blocked, a sandboxed frame) throws on
    any use of localStorage: the page still checks, and keeps a key typed in for as long as it is
    open. It had stopped at its first use of the storage, and Check did nothing."""
    context, url = browser_context
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("Object.defineProperty(window, 'localStorage', "
                         "{get() { throw new DOMException('Access is denied', 'SecurityError'); }});")
    sent = []
    page.route("**/v1/score", lambda route, request: (sent.append(request.headers.get("authorization")),
                                                      route.continue_()))
    try:
        page.goto(url + "/")
        page.fill("#input", "The minister stated on Tuesday that the talks would resume.")
        page.click("#check")
        page.wait_for_selector("#result-pane:not([hidden])", timeout=60_000)
        page.click("#edit")
        page.evaluate("document.getElementById('key-box').hidden = false")
        page.fill("#key", " s3cret ")
        page.click("#check")
        page.wait_for_selector("#result-pane:not([hidden])", timeout=60_000)
        assert sent == [None, "Bearer s3cret"] and errors == []
    finally:
        page.close()


def test_page_and_its_files_are_asked_for_again_after_an_upgrade(browser_context):
    """The page, its script and its style say ``Cache-Control: no-cache`` (a browser had kept running
    the old script after the service was upgraded), and the page a Content-Security-Policy under which
    it runs without a violation."""
    context, url = browser_context
    page = context.browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        answers = {}
        page.on("response", lambda r: answers.__setitem__(r.url[len(url):], r.headers))
        page.goto(url + "/")
        page.fill("#input", SAMPLE_WITH_SPANS)
        page.click("#check")
        page.wait_for_selector("#output mark", timeout=60_000)
        page.locator("#output mark").first.click()
        page.wait_for_selector("#popover:not([hidden])")
        for path in ("/", "/static/app.js", "/static/app.css"):
            assert answers[path].get("cache-control") == "no-cache", path
        assert "default-src 'self'" in answers["/"]["content-security-policy"]
        assert violations == []
    finally:
        page.context.close()


SAMPLE_WITH_SPANS = "In 1991 the two terrific powers signed an arms deal. Modifying by Lincoln Banquet."


def _fake_report(text: str, lm: str = "ngram:cmu-en-us", suggestions=("great",)) -> dict:
    """A report of ``text`` with one spun span on its word "terrific"."""
    start = text.index("terrific")
    return {"score": 0.9, "label": "spun", "lm": lm, "grammar": {"checked": True, "reason": "checked"},
            "stats": {"words": 5, "sentences": 1, "seconds": 0.01},
            "sentences": [{"start": 0, "end": len(text), "score": 0.9}],
            "spans": [{"start": start, "end": start + 8, "text": "terrific", "kind": "spun", "score": 0.9,
                       "suggestions": [{"text": t, "score": 0.5} for t in suggestions], "sources": ["lm"],
                       "evidence": {}}]}


def test_page_says_a_deletion_and_does_not_promise_a_long_wait_it_knows_is_short(browser_page):
    """An empty suggestion reads "(delete)", not a blank row; once a full check's report shows the
    service reads with one model alone, the next full check no longer says it can take a minute."""
    import json

    page, errors = browser_page
    text = "The two terrific powers met."
    page.route("**/v1/score", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(_fake_report(text, suggestions=("", "great")))))
    try:
        _checked(page, text)
        page.locator("#output mark").first.click()
        rows = page.locator("#popover li").all_inner_texts()
        assert rows[0].startswith("(delete)") and rows[1].startswith("great")
        page.keyboard.press("Escape")
    finally:
        page.unroute("**/v1/score")
    try:
        with _held_answers(page):
            _fresh(page)
            page.fill("#input", text)
            page.set_checked("#quick", False)
            page.click("#check")
            page.wait_for_function("document.getElementById('check').disabled")
            assert page.inner_text("#status") == "Checking…"
            page.click("#cancel")
            page.wait_for_function("!document.getElementById('check').disabled")
    finally:
        page.evaluate("state.fullIsQuick = false")
    assert errors == []


def test_page_tells_a_wrong_api_key_from_a_missing_one(browser_page):
    """401 without a key asks for one; 401 with one says it was not accepted; either way the focus
    goes to the key's box (the two had read the same)."""
    page, errors = browser_page
    page.route("**/v1/score", lambda route: route.fulfill(status=401, content_type="application/json",
                                                           body='{"detail": "missing or invalid API key"}'))
    try:
        for key, said in (("", "needs an API key"), ("wrong", "was not accepted")):
            _fresh(page)
            page.evaluate(f"localStorage.setItem('unspin-key', '{key}')")
            page.fill("#input", "The cat sat on the mat.")
            page.click("#check")
            page.wait_for_function("document.getElementById('status').textContent.includes('API key')")
            assert said in page.inner_text("#status")
            assert page.evaluate("document.activeElement.id") == "key"
    finally:
        page.evaluate("localStorage.removeItem('unspin-key')")
        page.unroute("**/v1/score")
    assert errors == []


def test_page_refuses_a_binary_file(browser_page):
    """A PNG or a PDF is not read as Windows-1252 text and scored (it had been): the page refuses it
    by the command line's rule and the text box keeps its text."""
    page, errors = browser_page
    _fresh(page)
    page.fill("#input", "kept")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    controls = ("\x01\x02\x03 words " * 40).encode()  # no NUL, a third control characters
    for name, data in (("photo.png", png), ("odd.txt", controls)):
        page.evaluate("document.getElementById('status').textContent = ''")
        page.set_input_files("#file", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
        page.wait_for_function("document.getElementById('status').textContent.length > 0")
        assert f"{name} was not opened: it looks like binary data" in page.inner_text("#status")
        assert page.input_value("#input") == "kept"
    # UTF-16 with its byte-order mark holds NUL bytes and is text
    page.set_input_files("#file", files=[{"name": "wide.txt", "mimeType": "text/plain",
                                           "buffer": "Wide text.".encode("utf-16")}])
    page.wait_for_function("document.getElementById('input').value === 'Wide text.'")
    # and so does UTF-32 (browsers have no decoder of their own for it; it had been refused as binary)
    for codec in ("utf-32", "utf-32-be"):
        text = f"Text in {codec} 😀."
        data = text.encode(codec) if codec == "utf-32" else ("\ufeff" + text).encode(codec)
        page.set_input_files("#file", files=[{"name": "wider.txt", "mimeType": "text/plain", "buffer": data}])
        page.wait_for_function("(t) => document.getElementById('input').value === t", arg=text)
        assert "(UTF-32)" in page.inner_text("#status")
    page.fill("#input", "kept")
    page.set_input_files("#file", files=[{"name": "broken.txt", "mimeType": "text/plain",
                                           "buffer": "Text.".encode("utf-32")[:-1]}])
    page.wait_for_function("document.getElementById('status').textContent.includes('broken.txt')")
    assert "not valid UTF-32" in page.inner_text("#status") and page.input_value("#input") == "kept"
    assert errors == []


def test_page_binary_rule_is_the_command_lines():
    from service import decoding as text_module

    import service

    js = (Path(service.__file__).parent / "api" / "static" / "app.js").read_text(encoding="utf-8")
    share = float(__import__("re").search(r"const BINARY_CONTROL_SHARE = ([0-9.]+);", js).group(1))
    assert share == text_module.BINARY_CONTROL_SHARE
    assert "/" + text_module._CONTROL_RE.pattern + "/g" in js


def test_page_file_read_during_a_check_does_not_replace_the_checked_text(browser_page):
    """A file whose reading ends after a check started is not put in the text box: the results
    belong to the text sent (an Apply had then rewritten the box from the old text)."""
    page, errors = browser_page
    with _held_answers(page):
        _fresh(page)
        page.fill("#input", "Old text.")
        # one turn of the page's loop: the reading starts, then the check (not awaited: it is held)
        page.evaluate("() => { loadFile(new File(['New text. '.repeat(200000)], 'big.txt')); check(); }")
        page.wait_for_function("document.getElementById('status').textContent.includes('big.txt')")
        assert "was not opened: a check started" in page.inner_text("#status")
        assert page.input_value("#input") == "Old text."
        page.click("#cancel")
        page.wait_for_function("!document.getElementById('check').disabled")
    assert errors == []


def test_page_keyboard_path_through_the_results(browser_page, seeds):
    """The results take the focus at the first highlight; the sentence strip is one tab stop whose
    arrows move along it and whose Enter goes into the sentence; applying the last highlight goes
    on at the first one left (it had dropped the focus); the dialog has a name."""
    page, errors = browser_page
    _checked(page, seeds[SEED_SPUN])
    first = page.evaluate("document.activeElement.outerHTML")
    assert first.startswith("<mark") and first == page.locator("#output mark[tabindex='0']").first.evaluate("m => m.outerHTML")
    assert page.locator("#heat span[tabindex='0']").count() == 1
    page.focus("#heat span[tabindex='0']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("Array.from(document.getElementById('heat').children).indexOf(document.activeElement)") == 2
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.closest('#sent-2') !== null")
    # apply the last highlight: the focus goes to the first one still open
    last = page.locator("#output mark.spun[tabindex='0']").last
    last.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    firsts = page.evaluate("document.querySelector(\"#output mark[tabindex='0']\").dataset.i")
    assert page.evaluate("document.activeElement.dataset.i") == firsts
    assert page.get_attribute("#popover", "aria-label") == "Suggestions"
    assert errors == []


def test_page_shows_a_findings_message_and_shortens_long_quotes(browser_page):
    """LanguageTool's message (or the look-alike letters') leads its section of the popover, not
    buried in the evidence line; a sentence-long span around a word is quoted short in the heading."""
    import json

    page, errors = browser_page
    text = "In the end the two terrific powers signed the arms deal that everyone had waited for over many long years."
    report = _fake_report(text)
    message = "This sentence is long. Consider splitting it."
    report["spans"].append({"start": 0, "end": len(text), "text": text, "kind": "grammar", "score": 0.5,
                            "suggestions": [], "sources": ["grammar"],
                            "evidence": {"rule_id": "TOO_LONG_SENTENCE", "message": message}})
    page.route("**/v1/score", lambda route: route.fulfill(status=200, content_type="application/json",
                                                           body=json.dumps(report)))
    try:
        _checked(page, text)
        page.click('#output mark[data-i="0"]')  # the spun word inside the long grammar span
        sections = page.locator("#popover section")
        assert sections.count() == 2
        grammar = sections.nth(1)
        assert grammar.locator("p.message").inner_text() == message
        heading = grammar.locator("h2").inner_text()
        assert heading.endswith("…”") and len(heading) < 120 and text[:40] in heading
        assert "rule_id: TOO_LONG_SENTENCE" in grammar.locator(".evidence").inner_text()
        assert message not in grammar.locator(".evidence").inner_text()
        page.keyboard.press("Escape")
    finally:
        page.unroute("**/v1/score")
    assert errors == []


@pytest.mark.parametrize("path, shown", [("/docs", ".opblock-summary-path[data-path='/v1/score']"),
                                         ("/redoc", "text='/v1/score/batch'")])
def test_api_docs_render_without_the_internet(browser_context, path, shown):
    """``/docs`` and ``/redoc`` draw the API's operations with every request to another host
    refused, as on a closed network: their scripts had come from a CDN, and the pages were blank.
    (Swagger UI 5: the version 4 of the swagger-ui-bundle package cannot draw OpenAPI 3.1.)"""
    context, url = browser_context
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    elsewhere: list[str] = []

    def only_the_app(route, request):
        if request.url.startswith(url + "/"):
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort()

    page.route("**/*", only_the_app)
    try:
        page.goto(url + path)
        page.wait_for_selector(shown, timeout=30_000)
        assert errors == []
        # all the page needs comes from the app; ReDoc's own "by Redocly" logo alone is asked of its
        # host, and is left out when refused
        assert [u for u in elsewhere if "/redoc/logo" not in u] == [], elsewhere
    finally:
        page.close()


def test_the_pages_cancel_stops_the_scoring_on_the_service(browser_context, engine):
    """Cancel had stopped the page alone: the service went on scoring the text for nobody (minutes
    with the second look). Aborting the request is the client going away: the scoring stops too."""
    import time

    from slow_engine import SlowSecondLook

    context, _ = browser_context
    slow = SlowSecondLook(engine, slots=400)  # twenty seconds read whole
    with serve(create_app(Settings(lm="ngram"), engine=slow)) as url:  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(url + "/")
        page.fill("#input", "The two terrific powers met on Tuesday.")
        page.click("#check")
        assert slow.started.acquire(timeout=10)
        page.click("#cancel")
        deadline = time.monotonic() + 10
        while not slow.ended and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.ended == ["Abandoned"]
        page.close()
