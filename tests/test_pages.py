"""Page furniture (page numbers, running heads) in text taken from paged documents: left unread, offsets kept."""

from __future__ import annotations

import pytest

from service.pages import furniture, without_furniture
from service.text import segment

HEAD = "Newsweek International Edition  December 2019"

#: a page break in the middle of a sentence, three times (a page number, then the running head)
PAGED = (
    "Beijing and Moscow have so far backed\n1\n" + HEAD + "\nPresident Donald Trump's efforts to make peace.\n"
    "Zarif traveled to the Russian capital and discussed the deal with his Russian Foreign\n2\n" + HEAD + "\n"
    "Minister Sergey Lavrov in Moscow, whose top diplomat spoke about the\n3\n" + HEAD + "\n"
    "serious efforts that we are making.\n"
)


def _paged(text: str, every: int, furniture_lines) -> str:
    """``text`` with ``furniture_lines(page)`` put in after every ``every``-th line, as a PDF's text has them."""
    out, page = [], 1
    for i, line in enumerate(text.split("\n"), start=1):
        out.append(line)
        if i % every == 0:
            out += furniture_lines(page)
            page += 1
    return "\n".join(out)


def test_page_numbers_and_running_heads_that_cut_a_sentence_are_read_through():
    ranges = furniture(PAGED)
    assert [PAGED[a:b] for a, b in ranges] == [f"{n}\n{HEAD}\n" for n in (1, 2, 3)]
    read = without_furniture(PAGED)
    assert len(read) == len(PAGED)
    assert all(read[i] == PAGED[i] for i in range(len(PAGED)) if not any(a <= i < b for a, b in ranges))
    sentences = segment(read)
    assert [" ".join(t.text for t in s.tokens) for s in sentences] == [
        "Beijing and Moscow have so far backed President Donald Trump's efforts to make peace .",
        "Zarif traveled to the Russian capital and discussed the deal with his Russian Foreign Minister Sergey Lavrov "
        "in Moscow , whose top diplomat spoke about the serious efforts that we are making .",
    ]
    for s in sentences:  # tokens point into the text as sent
        assert all(PAGED[t.start:t.end] == t.text for t in s.tokens)


@pytest.mark.parametrize("line", ["12", "- 12 -", "[12]", "(12)", "Page 12", "page 12 of 30", "12 of 30", "12/30", "— 7 —"])
def test_a_page_number_alone_on_a_line_is_furniture(line):
    text = f"the talks went on\n{line}\ninto the night.\n"
    assert without_furniture(text) == "the talks went on\n" + " " * (len(line) + 1) + "into the night.\n"


def test_lines_that_are_not_furniture_are_read():
    prose = "The talks went on.\nThey ended late.\n"
    # a line that recurs twice only; one that begins in lower case (prose wrapped the same way); one
    # that ends a sentence; one too long to be a running head; a number inside a line
    for text in (
        "the deal\nReuters Daily\nwent on\nReuters Daily\n" + prose,
        "\n".join(["the deal held", "marketing years and lags between exports and", "imports"] * 3),
        "\n".join(["It rained.", "Prices rose 4 pct."] * 3),
        "\n".join(["went on", "One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen"] * 3),
        "Profit was 12\nmln dlrs in 1986.\n",
        # a year alone on a line; a table's rows, whose words recur with other numbers
        "Sales rose in\n1987\nand fell after.\n",
        "Supply and use\n" + "\n".join(f"Start Stocks  {n}.19    4.01     4.71\nEnd Stocks    {n}.50    4.32     4.19"
                                        for n in range(4)) + "\nSource: USDA\n",
    ):
        assert furniture(text) == [] and without_furniture(text) is text


def test_furniture_between_paragraphs_leaves_the_paragraph_break():
    """A page break between two paragraphs (blank lines around the furniture): each furniture line is
    blanked alone, and the paragraphs stay apart."""
    text = "The talks ended.\n\n4\n\nThe next day\nit rained.\n"
    assert without_furniture(text) == "The talks ended.\n\n \n\nThe next day\nit rained.\n"
    assert [s.text for s in segment(without_furniture(text))] == ["The talks ended.", "The next day\nit rained."]
    # a sentence cut by a page break with blank lines around it goes on (lower case after it)
    cut = "The talks went on\n\n4\n\nuntil late.\n"
    assert without_furniture(cut) == "The talks went on\n" + " " * 4 + "until late.\n"
    assert [s.text for s in segment(without_furniture(cut))] == ["The talks went on\n    until late."]
    # heads at the very end are blanked alone
    tail = "The talks ended.\n5\n" + HEAD + "\n"
    assert without_furniture(tail + tail + tail).count(HEAD) == 0


def test_a_full_line_cut_by_a_page_break_goes_on_whatever_the_next_page_begins_with():
    """With blank lines around the page's furniture, a full line of prose that does not end as a
    sentence does goes on on the next page even when that begins with a capital (a name, a
    weekday): it had been cut into two sentences there. A short line (a heading) does not."""
    cut = ("Beijing backed the talks but want the sanctions\n\n2\n" + HEAD + "\n\neased soon. The two powers "
           "introduced a draft resolution that would\n\n3\n" + HEAD + "\n\nUnited Nations members must approve. "
           "The vote is expected on\n\n4\n" + HEAD + "\n\nTuesday, diplomats said.")
    assert [" ".join(s.text.split()) for s in segment(without_furniture(cut))] == [
        "Beijing backed the talks but want the sanctions eased soon.",
        "The two powers introduced a draft resolution that would United Nations members must approve.",
        "The vote is expected on Tuesday, diplomats said."]
    headed = ("The talks began on Monday in Geneva and went on late into the night.\nOfficials said little about "
              "them.\n\nBackground\n\n3\n" + HEAD + "\n\nThe study began in 2019 and ran for two years in all.\n"
              "It found little.\n\nMethods\n\n4\n" + HEAD + "\n\nWe asked people about their views.\n\n5\n" + HEAD + "\n")
    assert [s.text for s in segment(without_furniture(headed))] == [
        "The talks began on Monday in Geneva and went on late into the night.", "Officials said little about them.",
        "Background", "The study began in 2019 and ran for two years in all.", "It found little.", "Methods",
        "We asked people about their views."]


def test_a_paged_clean_article_gets_the_report_of_the_article(engine, seeds):
    """Seed 000 with a page number and a running head after every 18th line, or 'Page N of 5', the
    way a PDF's text has them: the same spans, scores and word count as the article itself, every
    offset into the paged text (the page lines had been read with the sentences they cut, and flagged
    words near them)."""
    article = next(t for name, t in seeds.items() if name.startswith("000_"))
    plain = engine.score(article)
    for paged in (_paged(article, 18, lambda n: [str(n), HEAD]), _paged(article, 18, lambda n: [f"Page {n} of 5"]),
                  _paged(article, 18, lambda n: [str(n), HEAD]).replace("\n", "\u2028")):  # any line break
        report = engine.score(paged)
        assert report.stats.words == plain.stats.words
        assert [(s.text, s.score) for s in report.spans] == [(s.text, s.score) for s in plain.spans]
        assert all(paged[s.start:s.end] == s.text for s in report.spans)
        assert len(report.sentences) == len(plain.sentences)


def test_the_second_look_reads_a_cut_sentence_without_its_page_furniture(engine):
    from service.second_look import question

    analysis = engine.analyze(PAGED, second_look=False)
    assert analysis.text == PAGED and analysis.reading == without_furniture(PAGED)
    late = [r for r in analysis.slots if len(r.features) and analysis.offsets(r)[0] > PAGED.index("serious") - 5]
    assert late, "no slot after the last page break"
    asked = question(analysis, late[0], [0])
    assert "Newsweek" not in asked.left and "Lavrov" in asked.left
