"""The self-contained HTML report of a batch (``unspin score --format html``).

One page, no external assets (inline CSS, no scripts, no fonts or images fetched): per document
its path, label, score and counts, the text with every reported span highlighted (hover: score,
relation, other suggestions) and the suggestion shown after it, and a table of the spans. Error
records appear as sections of their own; the totals come last. Everything taken from the
documents is escaped by Jinja2's autoescaping, and the markup is well-formed XML as well as HTML.
"""

from __future__ import annotations

from typing import TextIO

from jinja2 import Environment
from markupsafe import Markup, escape

from service.batch_outcomes import Outcome
from service.batch_writers import Summary, Writer
from service.report import SPUN_DOC_REASON, Report, Span

#: control characters XML does not allow (a form feed between pages of a converted PDF), shown as
#: their Unicode pictures ("␌"), and the two non-characters it does not allow (U+FFFE, U+FFFF) as
#: the replacement character: one character for one, so the text reads as it was written
_CONTROL_PICTURES = ({c: 0x2400 + c for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))}
                     | {0x7F: 0x2421, 0xFFFE: 0xFFFD, 0xFFFF: 0xFFFD})


def _xml_safe(value: object) -> object:
    """Every value a template writes, with XML's forbidden control characters as pictures (markup
    built here is safe already)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return value.translate(_CONTROL_PICTURES)
    return value


_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=_xml_safe)

_HEAD = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>unspin report</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
section.doc { border-top: 1px solid #ccc; padding: 0.5em 0 1.5em; }
h2 { font-size: 1.05em; word-break: break-all; margin-bottom: 0.2em; }
.meta { color: #555; margin: 0 0 0.8em; }
.label { font-weight: bold; padding: 0 0.4em; border-radius: 3px; }
.label-clean { background: #d8f0d8; } .label-suspicious { background: #fbeec0; } .label-spun { background: #f6c9c4; }
.text { white-space: pre-wrap; background: #fafafa; padding: 0.8em; border: 1px solid #eee; }
mark { background: rgba(255, 170, 0, calc(0.2 + 0.6 * var(--s, 0.5))); border-radius: 2px; }
mark.by-doc { background: rgba(255, 170, 0, 0.15); border-bottom: 2px dashed #c25e00; }
mark.formatting, mark.typo, mark.grammar { background: transparent; border-bottom: 2px dotted #666; }
mark mark { padding-bottom: 2px; }
.sugg { color: #0a6b2f; font-size: 0.85em; margin-left: 0.15em; }
table { border-collapse: collapse; margin-top: 0.8em; font-size: 0.9em; }
th, td { text-align: left; padding: 0.15em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
.error { color: #a40000; }
.note { color: #7a4d00; }
footer { border-top: 2px solid #999; margin-top: 1em; padding-top: 0.5em; }
</style>
</head>
<body>
<h1>unspin report</h1>
"""
)

_DOC = _ENV.from_string(
    """<section class="doc" id="doc-{{ n }}">
<h2>{{ o.path }}</h2>
{% if r is none %}
<p class="error">error: {{ o.error }}</p>
{% else %}
<p class="meta"><span class="label label-{{ r.label }}">{{ r.label }}</span>
score {{ "%.2f"|format(r.score) }} · {{ r.spans|length }} spans · {{ r.stats.words }} words ·
lm {{ r.lm }} · grammar {{ "checked" if r.grammar.checked else "not checked" }}{% if r.grammar.incomplete %} only in part{% endif %}</p>
{% if r.grammar.incomplete %}<p class="note">Grammar checked only in part: {{ r.grammar.reason }}</p>{% endif %}
{% if not r.language.english %}<p class="error">Not English: {{ r.language.reason }}.</p>{% endif %}
<div class="text">{{ marked }}</div>
{% if r.spans %}
<table>
<thead><tr><th>score</th><th>written</th><th>suggestions</th><th>relation</th><th>offsets</th></tr></thead>
<tbody>
{% for s in r.spans %}
<tr><td>{{ "%.2f"|format(s.score) }}</td><td>{{ s.text }}</td><td>{{ s.suggestions|map(attribute="text")|join(", ") }}</td><td>{{ s.evidence.get("relation", "") }}</td><td>{{ s.start }}–{{ s.end }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
{% endif %}
</section>
"""
)

_FOOT = _ENV.from_string(
    """<footer>
<p>{{ s.total }} documents: {{ s.scored }} scored ({{ s.words }} words), {{ s.failed }} failed{% if s.not_english %}, {{ s.not_english }} not in English{% endif %}{% if s.skipped %}, {{ s.skipped }} skipped{% endif %}.</p>
{% if s.failures %}
<ul>
{% for f in s.failures %}<li><span class="error">{{ f.path }}</span>: {{ f.error }}</li>
{% endfor %}
</ul>
{% endif %}
</footer>
</body>
</html>
"""
)


def _plain(text: str) -> Markup:
    return escape(text.translate(_CONTROL_PICTURES))


def _marked(text: str, report: Report) -> Markup:
    """``text`` with every span highlighted. Spans that overlap (a word disguised with look-alike
    letters inside a spun phrase) are drawn nested, the longer outside and a spun one outside any
    other of the same extent, and a span crossing another's end in two pieces, so that none is
    left out (as the web page draws them). The first suggestion follows each outermost mark; a
    nested one's is in its tooltip."""
    order = {"spun": 0, "grammar": 1}

    def key(x: tuple) -> tuple:  # by start, the longer first, a spun span outside any other of its extent
        return x[0], -x[1], x[2], x[3]

    pieces = sorted(((s.start, s.end, order.get(s.kind, 2), i, s) for i, s in enumerate(report.spans) if s.end > s.start),
                    key=key)

    def place(a: int, b: int, items: list, outer: bool) -> Markup:
        out, pos = [], a
        while items:
            (start, end, _rank, _i, s), rest = items[0], items[1:]
            out.append(_plain(text[pos:start]))
            inner, items = [], []
            for it in rest:
                if it[0] < end:
                    inner.append((it[0], min(it[1], end), *it[2:]))
                    if it[1] > end:
                        items.append((end, *it[1:]))
                else:
                    items.append(it)
            items.sort(key=key)
            inner.sort(key=key)
            cls = " ".join(c for c in (s.kind, "by-doc" if s.by_document_verdict else "") if c)
            tip = _tip(s) if outer else f"→ {_best(s)} · {_tip(s)}"
            out.append(Markup('<mark class="{}" style="--s: {:.2f}" title="{}">{}</mark>').format(
                cls, s.score, tip, place(start, end, inner, False)))
            if outer:
                out.append(Markup('<span class="sugg">→ {}</span>').format(_best(s)))
            pos = end
        out.append(_plain(text[pos:b]))
        return Markup("").join(out)

    return place(0, len(text), pieces, True)


def _best(span: Span) -> str:
    return (span.suggestions[0].text if span.suggestions else "?").translate(_CONTROL_PICTURES)


def _tip(span: Span) -> str:
    rel = span.evidence.get("relation", "")
    also = ", ".join(x.text for x in span.suggestions[1:4])
    return (f"score {span.score:.2f}" + (f" · {rel}" if rel else "") + (f" · also: {also}" if also else "")
            + (f" · {SPUN_DOC_REASON}" if span.by_document_verdict else "")).translate(_CONTROL_PICTURES)


class HtmlWriter(Writer):
    """Streams the page: the head first, a section per document as it comes, the totals last."""

    needs_text = True

    def __init__(self, out: TextIO, *, appending: bool = False):
        super().__init__(out, appending=appending)
        self._n = 0

    def begin(self) -> None:
        """Write the page's head (styles and title)."""
        self.out.write(_HEAD.render())
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        self._n += 1
        r = o.report
        marked = _marked(o.text or "", r) if r is not None else Markup("")
        self.out.write(_DOC.render(n=self._n, o=o, r=r, marked=marked))

    def end(self, summary: Summary) -> None:
        """Write the totals and close the page."""
        self.out.write(_FOOT.render(s=summary))
        self.out.flush()
