"""The self-contained HTML report of a batch (``unspin score --format html``).

One page, no external assets (inline CSS, no scripts, no fonts or images fetched): per document
its path, label, score and counts, the text with every reported span highlighted (hover: score,
relation, other suggestions) and the suggestion shown after it, and a table of the spans. Error
records appear as sections of their own; the totals come last. Everything taken from the
documents is escaped by Jinja2's autoescaping, and the markup is well-formed XML as well as HTML.
"""

from __future__ import annotations

from typing import Iterator, TextIO

from jinja2 import Environment

from service.batch import Outcome, Summary, Writer
from service.report import SPUN_DOC_REASON, Report, Span

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

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
.sugg { color: #0a6b2f; font-size: 0.85em; margin-left: 0.15em; }
table { border-collapse: collapse; margin-top: 0.8em; font-size: 0.9em; }
th, td { text-align: left; padding: 0.15em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
.error { color: #a40000; }
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
lm {{ r.lm }} · grammar {{ "checked" if r.grammar.checked else "not checked" }}</p>
{% if not r.language.english %}<p class="error">Not English: {{ r.language.reason }}.</p>{% endif %}
<div class="text">{% for plain, span in pieces %}{{ plain }}{% if span %}<mark{% if span.by_document_verdict %} class="by-doc"{% endif %} style="--s: {{ "%.2f"|format(span.score) }}" title="{{ tip(span) }}">{{ span.text }}</mark><span class="sugg">→ {{ best(span) }}</span>{% endif %}{% endfor %}</div>
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


def _pieces(text: str, report: Report) -> Iterator[tuple[str, Span | None]]:
    """(plain text before, span) pairs covering ``text``; spans do not overlap and are in order."""
    pos = 0
    for s in sorted(report.spans, key=lambda s: s.start):
        if s.start < pos:  # never expected; keep the text whole rather than garble it
            continue
        yield text[pos : s.start], s
        pos = s.end
    yield text[pos:], None


def _best(span: Span) -> str:
    return span.suggestions[0].text if span.suggestions else "?"


def _tip(span: Span) -> str:
    rel = span.evidence.get("relation", "")
    also = ", ".join(x.text for x in span.suggestions[1:4])
    return (f"score {span.score:.2f}" + (f" · {rel}" if rel else "") + (f" · also: {also}" if also else "")
            + (f" · {SPUN_DOC_REASON}" if span.by_document_verdict else ""))


class HtmlWriter(Writer):
    """Streams the page: the head first, a section per document as it comes, the totals last."""

    needs_text = True

    def __init__(self, out: TextIO, *, appending: bool = False):
        super().__init__(out, appending=appending)
        self._n = 0

    def begin(self) -> None:
        self.out.write(_HEAD.render())
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        self._n += 1
        r = o.report
        pieces = list(_pieces(o.text or "", r)) if r is not None else []
        self.out.write(_DOC.render(n=self._n, o=o, r=r, pieces=pieces, best=_best, tip=_tip))

    def end(self, summary: Summary) -> None:
        self.out.write(_FOOT.render(s=summary))
        self.out.flush()
