"""Credit lines' role words: "Reporting by Josh Smith; Modifying by Lincoln Feast" -> "Editing by".

News credit lines ("Reporting by X; Editing by Y", "Additional reporting by Z") use a small, fixed
set of role words, and a spinner rewrites them like any other word: "Editing" becomes "Modifying",
"Reporting" becomes "Coverage", "Writing" becomes "Composing". The language model cannot see this:
the role word is capitalised in mid-line, so the engine takes it for a name, and the line has too
little context for a 3-gram to judge. This signal needs none: in a line the segmenter calls a
byline, a role word before "by <Name>" that is not one of the usual roles, but is a thesaurus
neighbour or a close embedding neighbour of one of the formula roles, is suspect, and those roles
are its candidates. Unusual roles that are no neighbour of a formula role ("Animation by",
"Interviews by") are left alone.

A spinner that rewrote the role rewrote the names after it too where they are also words: seed 002
ends "Modifying by Lincoln Banquet", once "Editing by Lincoln Feast". So after a suspect role, each
surname it credits that has a common (lower-case) WordNet reading is suspect as well, with that
reading's synonyms as candidates ("Banquet" -> "Feast"), at the lower score :data:`NAME_SCORE`
(list name :data:`NAME_SOURCE`): the name may well be as written ("Lincoln Feast" itself is
flagged after a spun role). First names, names WordNet knows only as names ("Lincoln", "Jones")
and names after a usual role are left alone.

The hits take the lexicon's path through the engine (:class:`service.lexicon.LexiconHit`, list
:data:`SOURCE` or :data:`NAME_SOURCE`, marked ``builtin`` so that only they get these rules, not a
user's list whose file has the same name): the language model and the fusion still score their
candidates, and the span is reported with at least :data:`CREDIT_SCORE` (a name:
:data:`NAME_SCORE`), in the list's order of candidates.
"""

from __future__ import annotations

import re
from typing import Protocol, Sequence

import numpy as np

from service.lexicon import LexiconHit
from service.text import LIST_MARKER, Sentence, recased_credit_line

#: a list item's number or bullet before a credit line
_MARKER_RE = re.compile(LIST_MARKER)

#: the source name of these hits, in a span's ``evidence["lexicon"]``
SOURCE = "credit-line"
#: the least score of a suspect role word (above the shipped threshold, below a user lexicon's 0.95)
CREDIT_SCORE = 0.6
#: the list name of a suspect name after a suspect role (its span's ``evidence["lexicon"]``)
NAME_SOURCE = "credit-line-name"
#: the least score of such a name (above the shipped threshold, below a role word's)
NAME_SCORE = 0.3
#: synonyms proposed for such a name, the closest in meaning first
MAX_NAME_SYNONYMS = 5
#: the formula roles a spinner rewrites, and so the candidates
FORMULA_ROLES: tuple[str, ...] = ("reporting", "editing", "writing", "additional reporting")
#: role words (lower case, as written before "by") that credit lines use as they are
KNOWN_ROLES = frozenset(
    """reporting editing writing compiled compiling produced production
    photo photos photography photographs pictures graphics graphic illustration illustrations design
    translated translation translations research researched video videos text words story data
    interviews interview animation maps map cartoon cartoons fact-checking sub-editing editor writer
    reported written edited directed filmed presented hosted posted updated created developed
    additional writing additional research additional editing contributions contributing""".split()
) | {"additional reporting", "additional writing", "additional editing", "additional research"}
#: embedding similarity from which a role word counts as a neighbour of a formula role
MIN_SIMILARITY = 0.6


class _Thesaurus(Protocol):
    def related(self, a: str, b: str, depth: int = 1) -> str | None: ...

    def analyse(self, word: str) -> list: ...

    def synsets(self, lemma: str, pos: str) -> list: ...


class _Relatedness(Protocol):
    def similarities(self, word: str, others: Sequence[str]) -> np.ndarray: ...


def credit_hits(sentence: Sentence, thesaurus: _Thesaurus, relatedness: _Relatedness) -> list[LexiconHit]:
    """The suspect role words of one byline sentence, as lexicon hits with the formula roles that
    are their neighbours as originals (closest in meaning first), and after each such role the
    names that are also words (:func:`_name_hits`). Other sentences: none."""
    if sentence.kind != "byline":
        return []
    toks = sentence.tokens
    # a line in capitals ("MODIFYING BY LINCOLN BANQUET") or Title Case ("Modifying By Lincoln
    # Banquet"): capitals mark neither roles nor names there
    capitals = recased_credit_line([t.text for t in sentence.words()])
    hits = []
    for i, tok in enumerate(toks):
        if tok.norm != "by" or i == 0 or i + 1 >= len(toks) or not toks[i + 1].is_capitalized:
            continue
        first = _role_start(toks, i, capitals)
        if first is None:
            continue
        role = " ".join(t.norm for t in toks[first:i])
        if role in KNOWN_ROLES:
            continue
        sims = relatedness.similarities(role, list(FORMULA_ROLES))
        near = [
            (float(s), r) for r, s in zip(FORMULA_ROLES, sims)
            if s >= MIN_SIMILARITY or thesaurus.related(role, r) is not None
        ]
        if near:
            originals = tuple(r for _, r in sorted(near, reverse=True))
            hits.append(LexiconHit(first, i, " ".join(t.text for t in toks[first:i]), originals, SOURCE, builtin=True))
            hits.extend(_name_hits(toks, i + 1, thesaurus, relatedness, capitals))
    return hits


def _name_hits(toks: Sequence, start: int, thesaurus: _Thesaurus, relatedness: _Relatedness,
               capitals: bool = False) -> list[LexiconHit]:
    """The surnames (the last capitalised word of each name) from ``toks[start]`` up to the end of
    the credit (";", ")" or a lower-case word other than "and"; in a line in ``capitals``, also
    "by") that have a common reading, as hits with its synonyms. First names stay alone: "Mark",
    "Tom" are words too, but far more often names; so do acronyms, except in a line in capitals."""
    hits = []
    for j in range(start, len(toks)):
        t = toks[j]
        if t.is_word and ((not t.is_capitalized and t.norm != "and") or (capitals and t.norm == "by")):
            break
        if not t.is_word and t.norm not in (",", "&"):
            break
        if not (t.is_word and t.is_capitalized) or (t.is_upper and not capitals) or t.norm == "and":
            continue
        after = toks[j + 1] if j + 1 < len(toks) else None
        if after is not None and after.is_word and after.is_capitalized and not (capitals and after.norm in ("and", "by")):
            continue  # a first or middle name
        synonyms = _common_synonyms(t.norm, thesaurus)
        if synonyms:
            sims = relatedness.similarities(t.norm, synonyms)
            order = np.argsort(-np.asarray(sims), kind="stable")[:MAX_NAME_SYNONYMS]
            hits.append(LexiconHit(j, j + 1, t.text, tuple(synonyms[k] for k in order), NAME_SOURCE, builtin=True))
    return hits


def _common_synonyms(word: str, thesaurus: _Thesaurus) -> list[str]:
    """One-word synonyms of the senses in which WordNet writes ``word`` in lower case ("banquet":
    feast, spread, junket); none for a word it knows only as a name ("Lincoln")."""
    out: list[str] = []
    for form in thesaurus.analyse(word):
        name = form.lemma.replace(" ", "_")
        for syn in thesaurus.synsets(form.lemma, form.pos):
            lemmas = [lem.name() for lem in syn.lemmas()]
            if name not in lemmas:
                continue
            out += [n for n in lemmas if n != name and n.isalpha() and n.islower() and n not in out]
    return out


def _list_marker(toks: Sequence) -> bool:
    """Whether ``toks`` (what opens a line before a credit) are a list item's number or bullet
    ("1.", "(2)", "3)", "-", "•")."""
    return 0 < len(toks) <= 3 and _MARKER_RE.fullmatch("".join(t.norm for t in toks)) is not None


def _role_start(toks: Sequence, by: int, capitals: bool = False) -> int | None:
    """Where the role before ``toks[by]`` ("by") starts: a capitalised word that opens the line or
    follows ";", "," or "(", then at most two lower-case words (in a line in ``capitals``: at most
    three words, the first opening the line or following one of those); None when there is no such role."""
    for first in range(by - 1, max(-1, by - 4), -1):
        t = toks[first]
        if not t.is_word:
            return None
        opens = first == 0 or toks[first - 1].norm in (";", ",", "(") or _list_marker(toks[:first])
        if capitals:
            if opens:
                return first
            continue
        if t.is_capitalized and not t.is_upper:
            lower = all(x.is_word and not x.is_capitalized for x in toks[first + 1 : by])
            return first if opens and lower else None
    return None
