"""WordNet 3.0 + MyThes as one thesaurus of surface forms.

``Thesaurus.neighbours("powers")`` answers with lower-cased words and phrases that a synonym
spinner could have put in place of *powers* (or that it could have replaced with *powers*),
each with the strongest relation that links them:

========== ===========================================================================
relation   meaning
========== ===========================================================================
synonym    same WordNet synset
similar    WordNet ``similar_to`` / ``also_see`` / ``verb_group``
hypernym   WordNet hypernym (incl. instance hypernym)
hyponym    WordNet hyponym (incl. instance hyponym)
derived    WordNet derivationally related form or pertainym
mythes     listed in LibreOffice's MyThes thesaurus (and nothing stronger)
2-step     a neighbour of a neighbour (``depth=2`` only)
========== ===========================================================================

Both the lemma form ("force") and the form inflected like the input ("forces") are returned,
so callers can put a neighbour in place of the word directly. Antonyms are never returned.

NLTK's WordNet reader wants an ``nltk_data/corpora/wordnet`` folder with a ``lexnames`` file;
Debian's ``wordnet-base`` ships the database files without it, so the folder is assembled under
``Settings.cache_dir`` on first use (copies of the files in ``Settings.wordnet_dir`` + a
written ``lexnames``; NLTK refuses symlinks and hard links there), and that ``nltk_data``
folder is added to ``nltk.data.path``, which NLTK >= 3.9.3 requires before it opens any
corpus file.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import lemminflect

from service.config import Settings, get_settings

__all__ = [
    "RELATIONS",
    "Thesaurus",
    "ThesaurusUnavailable",
    "WordForm",
    "analyse",
    "get_thesaurus",
    "inflect",
    "prepare_wordnet_root",
]

#: Relation kinds, strongest first.
RELATIONS: tuple[str, ...] = ("synonym", "similar", "hypernym", "hyponym", "derived", "mythes", "2-step")
_RANK = {r: i for i, r in enumerate(RELATIONS)}

#: WordNet POS letters -> lemminflect universal POS.
_UPOS = {"n": "NOUN", "v": "VERB", "a": "ADJ", "s": "ADJ", "r": "ADV"}
_BASE_TAG = {"n": "NN", "v": "VB", "a": "JJ", "r": "RB"}
#: Penn tags of base forms (those above, and the present-tense verb that looks like them): a
#: lemma is itself such a form.
BASE_TAGS = frozenset(_BASE_TAG.values()) | {"VBP"}
_POSES = ("n", "v", "a", "r")
_MYTHES_POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}

# The 45 lexicographer files of WordNet 3.0 (``man 5WN lexnames``): number, name, syntactic category.
_LEXNAMES = (
    ["adj.all", "adj.pert", "adv.all"]
    + [
        "noun." + n
        for n in (
            "Tops act animal artifact attribute body cognition communication event feeling food group "
            "location motive object person phenomenon plant possession process quantity relation shape "
            "state substance time"
        ).split()
    ]
    + [
        "verb." + n
        for n in (
            "body change cognition communication competition consumption contact creation emotion "
            "motion perception possession social stative weather"
        ).split()
    ]
    + ["adj.ppl"]
)
_LEXCAT = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
LEXNAMES_TEXT = "".join(f"{i:02d}\t{name}\t{_LEXCAT[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAMES))

_WORDNET_FILES = [f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")]
_OPTIONAL_FILES = ["noun.exc", "verb.exc", "adj.exc", "adv.exc", "cntlist.rev", "index.sense", "cntlist"]

_SPACE_RE = re.compile(r"[\s_]+")


class ThesaurusUnavailable(RuntimeError):
    """The WordNet database files are missing or unreadable."""


#: a word of a name as WordNet writes it: a capital, then lower case ("American"; "of" in a name)
_TITLE_PART_RE = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)*|of|the|and|de|la|von|van")


def _norm(phrase: str) -> str:
    """Lower-case, collapse whitespace/underscores to single spaces."""
    return _SPACE_RE.sub(" ", phrase.strip().lower())


def prepare_wordnet_root(wordnet_dir: Path, cache_dir: Path) -> Path:
    """Assemble ``cache_dir/nltk_data/corpora/wordnet`` from the files in ``wordnet_dir``.

    Returns the folder NLTK's ``WordNetCorpusReader`` can read. Raises ``ThesaurusUnavailable``
    when the WordNet files are missing.
    """
    wordnet_dir = Path(wordnet_dir)
    missing = [f for f in _WORDNET_FILES if not (wordnet_dir / f).is_file()]
    if missing:
        raise ThesaurusUnavailable(
            f"WordNet 3.0 database files not found in {wordnet_dir} (missing: {', '.join(missing)}). "
            "Install Debian's wordnet-base package (apt-get install wordnet-base) or point "
            "UNSPIN_WORDNET_DIR at a folder holding data.noun, index.noun, ... ."
        )
    root = Path(cache_dir) / "nltk_data" / "corpora" / "wordnet"
    root.mkdir(parents=True, exist_ok=True)
    for name in _WORDNET_FILES + _OPTIONAL_FILES:
        src = wordnet_dir / name
        dst = root / name
        if not src.is_file():
            continue
        st = src.stat()
        if dst.is_file() and not dst.is_symlink():
            dt = dst.stat()
            if dt.st_size == st.st_size and dt.st_nlink == 1 and int(dt.st_mtime) == int(st.st_mtime):
                continue
        # NLTK (>= 3.9.3) refuses symlinks leaving the corpus root and multiply-linked files,
        # so the files are copied (about 36 MB, once).
        tmp = root / f"{name}.{os.getpid()}.tmp"
        try:
            if tmp.exists():
                tmp.unlink()
            shutil.copy2(src, tmp)
            if dst.is_symlink() or dst.exists():
                dst.unlink()
            os.replace(tmp, dst)
        finally:
            if tmp.exists():
                tmp.unlink()
    lexnames = root / "lexnames"
    if not lexnames.is_file() or lexnames.read_text() != LEXNAMES_TEXT:
        tmp = root / f"lexnames.{os.getpid()}.tmp"
        tmp.write_text(LEXNAMES_TEXT)
        os.replace(tmp, lexnames)
    return root


# --------------------------------------------------------------------------- inflection


@dataclass(frozen=True)
class WordForm:
    """One reading of a surface word: WordNet lemma, POS letter (n/v/a/r) and Penn tag."""

    lemma: str
    pos: str
    tag: str


@functools.lru_cache(maxsize=200_000)
def _inflect_word(lemma: str, tag: str) -> str:
    if tag in ("NN", "VB", "JJ", "RB", "VBP") or not lemma.isalpha():
        return lemma
    forms = lemminflect.getInflection(lemma, tag)
    return forms[0] if forms else lemma


@functools.lru_cache(maxsize=200_000)
def inflect(lemma: str, pos: str, tag: str) -> str:
    """Inflect a (possibly multi-word) lemma to Penn ``tag``.

    Verb phrases inflect their first word ("go back to" -> "went back to"), noun phrases their
    last word ("due date" -> "due dates"); adjectives/adverbs only when single words.
    """
    words = lemma.split(" ")
    if tag in ("NN", "VB", "JJ", "RB", "VBP"):
        return lemma
    if len(words) == 1:
        return _inflect_word(lemma, tag)
    if pos == "v":
        return " ".join([_inflect_word(words[0], tag)] + words[1:])
    if pos == "n":
        head = noun_head(words)
        return " ".join(words[:head] + [_inflect_word(words[head], tag)] + words[head + 1 :])
    return lemma


_PREPOSITIONS = frozenset("of in on at for to with by from de du la des von than".split())


def noun_head(words: list[str]) -> int:
    """Index of the head of a noun phrase: before the first preposition, else the last word."""
    for i, w in enumerate(words[1:], start=1):
        if w in _PREPOSITIONS:
            return i - 1
    return len(words) - 1


def _tags_for(word: str, lemma: str, pos: str) -> list[str]:
    """Penn tags under which ``lemma`` (POS ``pos``) is spelled ``word``."""
    base = _BASE_TAG["a" if pos == "s" else pos]
    if word == lemma:
        return [base]
    tags = []
    try:
        infl = lemminflect.getAllInflections(lemma, upos=_UPOS[pos])
    except Exception:  # pragma: no cover - lemminflect edge cases
        infl = {}
    for tag, forms in infl.items():
        if word in forms and tag != base and tag != "VBP":
            tags.append(tag)
    if not tags:
        # Out-of-vocabulary lemma: trust lemminflect's rules.
        for tag in {"n": ("NNS",), "v": ("VBZ", "VBD", "VBN", "VBG"), "a": ("JJR", "JJS"), "r": ("RBR", "RBS")}[
            "a" if pos == "s" else pos
        ]:
            if _inflect_word(lemma, tag) == word:
                tags.append(tag)
    return tags


def _candidate_tags(wf: WordForm, surface: str) -> list[str]:
    """Penn tags to inflect a spun word's neighbours to: its own tag, and for a regular verb's
    past tense ("revealed") also the past participle, which it spells the same. lemminflect lists
    only VBD for such verbs, yet the original may have been an irregular participle ("have
    revealed" for "have shown", not "have showed")."""
    if wf.pos == "v" and wf.tag == "VBD" and inflect(wf.lemma, "v", "VBN") == surface:
        return ["VBD", "VBN"]
    return [wf.tag]


# --------------------------------------------------------------------------- MyThes


def _read_mythes(path: Path) -> MyThes:
    """The MyThes thesaurus at ``path``, which is there: one that is a folder, cannot be read or
    holds no entry is a :class:`ThesaurusUnavailable` naming ``UNSPIN_MYTHES_PATH`` (it had been
    skipped without a word, or failed with a bare error)."""
    why = None
    if not path.is_file():
        why = "is not a file"
    else:
        try:
            mythes = MyThes(path)
        except (OSError, LookupError, ValueError) as exc:  # LookupError: an unknown encoding on its first line
            why = f"cannot be read ({exc})"
        else:
            if mythes:
                return mythes
            why = "holds no thesaurus entry (a MyThes .dat file starts with its encoding, then word|count lines)"
    raise ThesaurusUnavailable(f"UNSPIN_MYTHES_PATH={str(path)!r} {why}; name a MyThes .dat file, or a path "
                               "where there is none to go without MyThes")


class MyThes:
    """Reader of a MyThes ``.dat`` thesaurus (with its ``.idx`` when present).

    Lookup returns ``{pos_letter_or_'': set(phrases)}``; antonyms are skipped and the
    annotations "(similar term)", "(related term)", "(generic term)" are stripped.
    """

    _ANNOT_RE = re.compile(r"\s*\((?:similar|related|generic) term\)\s*$")

    def __init__(self, dat_path: Path):
        self.path = Path(dat_path)
        self._offsets: dict[str, int] = {}
        with open(self.path, "rb") as fh:
            self.encoding = fh.readline().decode("ascii", "replace").strip() or "UTF-8"
        idx = self.path.with_suffix(".idx")
        if idx.is_file():
            with open(idx, encoding=self.encoding, errors="replace") as fh:
                fh.readline()  # encoding
                fh.readline()  # number of entries
                for line in fh:
                    word, _, off = line.rstrip("\n").rpartition("|")
                    if word and off.isdigit():
                        self._offsets[word.lower()] = int(off)
        else:
            self._scan()

    def _scan(self) -> None:
        with open(self.path, "rb") as fh:
            fh.readline()
            while True:
                off = fh.tell()
                line = fh.readline()
                if not line:
                    break
                head = line.decode(self.encoding, "replace").rstrip("\n")
                word, _, n = head.rpartition("|")
                if not n.isdigit():
                    continue
                self._offsets.setdefault(word.lower(), off)
                for _ in range(int(n)):
                    fh.readline()

    def __len__(self) -> int:
        """Entries (head words) in the thesaurus."""
        return len(self._offsets)

    def __contains__(self, word: str) -> bool:
        return _norm(word) in self._offsets

    def lookup(self, word: str) -> dict[str, set[str]]:
        """The synonyms of ``word`` (any case) by part of speech, its meanings' together."""
        off = self._offsets.get(_norm(word))
        out: dict[str, set[str]] = {}
        if off is None:
            return out
        with open(self.path, "rb") as fh:
            fh.seek(off)
            head = fh.readline().decode(self.encoding, "replace").rstrip("\n")
            _, _, n = head.rpartition("|")
            for _ in range(int(n) if n.isdigit() else 0):
                parts = fh.readline().decode(self.encoding, "replace").rstrip("\n").split("|")
                pos = _MYTHES_POS.get(parts[0].strip("()").strip(), "")
                bucket = out.setdefault(pos, set())
                for term in parts[1:]:
                    if "(antonym)" in term:
                        continue
                    term = _norm(self._ANNOT_RE.sub("", term))
                    if term:
                        bucket.add(term)
        return out


# --------------------------------------------------------------------------- thesaurus


class Thesaurus:
    """WordNet (+ MyThes when present) neighbours of surface words and phrases."""

    def __init__(self, settings: Settings | None = None, *, use_mythes: bool = True):
        settings = settings or get_settings()
        self.settings = settings
        root = prepare_wordnet_root(Path(settings.wordnet_dir), Path(settings.cache_dir))
        import nltk.data
        from nltk.corpus.reader.wordnet import WordNetCorpusReader

        class _Reader(WordNetCorpusReader):
            #: NLTK reads a synset (and a lemma's count) by seeking a shared file handle: two threads (the
            #: service scores UNSPIN_CONCURRENCY texts at once) read each other's lines without it
            _read_lock = threading.RLock()

            def map_wn(self, version="wordnet"):  # OMW version mapping: unused, costs ~6 s
                return None

            def synset_from_pos_and_offset(self, pos, offset):
                with self._read_lock:
                    return super().synset_from_pos_and_offset(pos, offset)

            def lemma_count(self, lemma):  # a binary search over another shared file handle
                with self._read_lock:
                    return super().lemma_count(lemma)

        # NLTK >= 3.9.3 only opens corpus files under a folder of ``nltk.data.path``; allow our
        # own cache folder (and nothing else) so the reader can open it.
        data_root = str(root.parent.parent)
        if data_root not in nltk.data.path:
            nltk.data.path.append(data_root)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.wn = _Reader(str(root), None)
        except (OSError, LookupError, ValueError, AssertionError, PermissionError) as exc:
            raise ThesaurusUnavailable(
                f"could not read WordNet from {settings.wordnet_dir}: {exc}. "
                "Install Debian's wordnet-base package."
            ) from exc
        self.mythes: MyThes | None = None
        mp = settings.mythes_path
        if use_mythes and mp is not None and os.path.lexists(mp):  # absent: skipped, as documented
            self.mythes = _read_mythes(Path(mp))
        self._neighbours = functools.lru_cache(maxsize=200_000)(self._neighbours_uncached)
        self._lemma_neighbours = functools.lru_cache(maxsize=200_000)(self._lemma_neighbours_uncached)
        self._analyse = functools.lru_cache(maxsize=200_000)(self._analyse_uncached)
        self._written_form = functools.lru_cache(maxsize=200_000)(self._written_form_uncached)

    # ---------------------------------------------------------------- lemmas

    def _has_lemma(self, lemma: str, pos: str) -> bool:
        m = self.wn._lemma_pos_offset_map.get(lemma)
        return bool(m) and (pos in m or (pos == "a" and "s" in m))

    def synsets(self, lemma: str, pos: str) -> list:
        """WordNet synsets of exactly this lemma (spaces or underscores) and POS letter."""
        return self._synsets_exact(_norm(lemma), "a" if pos == "s" else pos)

    def _synsets_exact(self, lemma: str, pos: str) -> list:
        """Synsets of exactly this lemma (no morphy: "best" must not give the synsets of "good")."""
        m = self.wn._lemma_pos_offset_map.get(lemma.replace(" ", "_"))
        if not m:
            return []
        out = []
        for p in ("a", "s") if pos == "a" else (pos,):
            for off in m.get(p, ()):
                syn = self.wn.synset_from_pos_and_offset(p, off)
                if syn not in out:
                    out.append(syn)
        return out

    def _morphy(self, word: str, pos: str) -> list[str]:
        """All WordNet lemmas of a single lower-case word for ``pos``."""
        try:
            return list(dict.fromkeys(self.wn._morphy(word, pos)))
        except Exception:  # pragma: no cover
            return []

    def _analyse_uncached(self, surface: str) -> tuple[WordForm, ...]:
        words = surface.split(" ")
        key = "_".join(words)
        out: list[WordForm] = []
        for pos in _POSES:
            cands: list[tuple[str, str]] = []  # (lemma with spaces, word whose tag decides)
            if len(words) == 1:
                for lem in self._morphy(surface, pos):
                    cands.append((lem, surface))
            else:
                if self._has_lemma(key, pos):
                    cands.append((surface, ""))
                head_i = 0 if pos == "v" else noun_head(words)
                for lem in self._morphy(words[head_i], pos):
                    if lem == words[head_i]:
                        continue
                    new = list(words)
                    new[head_i] = lem
                    if self._has_lemma("_".join(new), pos):
                        cands.append((" ".join(new), words[head_i]))
            for lem, head in cands:
                lem = lem.replace("_", " ")
                if len(words) == 1:
                    tags = _tags_for(surface, lem, pos)
                elif head:
                    lw = lem.split(" ")
                    hl = lw[0 if pos == "v" else noun_head(lw)]
                    tags = _tags_for(head, hl, pos)
                else:
                    tags = [_BASE_TAG[pos]]
                for tag in tags or [_BASE_TAG[pos]]:
                    wf = WordForm(lem, pos, tag)
                    if wf not in out:
                        out.append(wf)
        return tuple(out)

    def analyse(self, word: str) -> list[WordForm]:
        """WordNet readings (lemma, POS, Penn tag) of a surface word or phrase."""
        return list(self._analyse(_norm(word)))

    def _lemma_neighbours_uncached(self, lemma: str, pos: str) -> dict[str, tuple[str, bool]]:
        """Neighbours (lemma forms, spaces) of a lemma with one POS letter.

        Values are ``(relation, same_pos)``; only same-POS neighbours get inflected like the input.
        """
        out: dict[str, tuple[str, bool]] = {}

        def add(name: str, rel: str, same_pos: bool = True) -> None:
            name = _norm(name)
            if not name or name == lemma:
                return
            old = out.get(name)
            if old is None or _RANK[rel] < _RANK[old[0]] or (rel == old[0] and same_pos and not old[1]):
                out[name] = (rel, same_pos)

        for syn in self._synsets_exact(lemma, pos):
            antonyms = {a.name().lower() for lem in syn.lemmas() for a in lem.antonyms()}
            for lem in syn.lemmas():
                add(lem.name(), "synonym")
            for rel_fn in (syn.similar_tos, syn.also_sees, syn.verb_groups):
                for s2 in rel_fn():
                    for lem in s2.lemmas():
                        if lem.name().lower() not in antonyms:
                            add(lem.name(), "similar")
            for s2 in syn.hypernyms() + syn.instance_hypernyms():
                for lem in s2.lemmas():
                    add(lem.name(), "hypernym")
            for s2 in syn.hyponyms() + syn.instance_hyponyms():
                for lem in s2.lemmas():
                    add(lem.name(), "hyponym")
            for lem in syn.lemmas():
                if _norm(lem.name()) != lemma:
                    continue
                for rel in lem.derivationally_related_forms() + lem.pertainyms():
                    rpos = rel.synset().pos()
                    add(rel.name(), "derived", ("a" if rpos == "s" else rpos) == pos)
        if self.mythes is not None:
            for mpos, terms in self.mythes.lookup(lemma).items():
                if mpos and mpos != pos:
                    continue
                for t in terms:
                    add(t, "mythes")
        # never antonyms of any sense
        for ant in self._antonyms(lemma, pos):
            if ant in out and out[ant][0] != "synonym":
                del out[ant]
        return out

    def _antonyms(self, lemma: str, pos: str) -> set[str]:
        ants: set[str] = set()
        for syn in self._synsets_exact(lemma, pos):
            for lem in syn.lemmas():
                if _norm(lem.name()) == lemma:
                    ants.update(_norm(a.name()) for a in lem.antonyms())
            if syn.pos() == "s":  # satellites: antonyms of their head adjective
                for head in syn.similar_tos():
                    for lem in head.lemmas():
                        ants.update(_norm(a.name()) for a in lem.antonyms())
        return ants

    def antonyms(self, lemma: str, pos: str) -> set[str]:
        """Antonyms of any sense of a lemma (for a satellite adjective, its head's antonyms)."""
        return self._antonyms(_norm(lemma), "a" if pos == "s" else pos)

    def lemma_neighbours(self, lemma: str, pos: str) -> dict[str, str]:
        """Lemma-form neighbours of a WordNet lemma with POS letter n/v/a/r (no inflection)."""
        return {k: v[0] for k, v in self._lemma_neighbours(_norm(lemma), "a" if pos == "s" else pos).items()}

    # ---------------------------------------------------------------- public

    def _neighbours_uncached(self, surface: str, depth: int) -> dict[str, str]:
        out: dict[str, str] = {}

        def add(name: str, rel: str) -> None:
            if not name or name == surface:
                return
            old = out.get(name)
            if old is None or _RANK[rel] < _RANK[old]:
                out[name] = rel

        forms = self._analyse(surface)
        own_lemmas = {wf.lemma for wf in forms}
        lemma_level: dict[tuple[str, str], str] = {}
        tags_by_pos: dict[str, list[str]] = {}  # the tags neighbours are inflected to, per POS
        for wf in forms:
            tags = _candidate_tags(wf, surface)
            pos_tags = tags_by_pos.setdefault(wf.pos, [])
            pos_tags += [tag for tag in tags if tag not in pos_tags]
            for nb, (rel, same_pos) in self._lemma_neighbours(wf.lemma, wf.pos).items():
                if nb in own_lemmas:
                    continue
                # spinners inflect a replacement like the word it replaces, so an inflected word's
                # original has its inflection: the bare lemma of a same-POS neighbour ("glass" for
                # "glasses") is kept only where the word itself is a base form (docs/evaluation-notes.md)
                if not same_pos or wf.tag in BASE_TAGS:
                    add(nb, rel)
                if same_pos:
                    for tag in tags:
                        add(inflect(nb, wf.pos, tag), rel)
                k = (nb, wf.pos)
                if k not in lemma_level or _RANK[rel] < _RANK[lemma_level[k]]:
                    lemma_level[k] = rel
        if self.mythes is not None and surface in self.mythes and not forms:
            # a MyThes-only entry (no WordNet reading): raw terms
            for terms in self.mythes.lookup(surface).values():
                for t in terms:
                    add(t, "mythes")
        if depth >= 2:
            ants = set()
            for wf in forms:
                ants |= self._antonyms(wf.lemma, wf.pos)
            for (nb, pos), rel in list(lemma_level.items()):
                if rel not in ("synonym", "similar", "mythes"):
                    continue
                for nb2, (_, same_pos) in self._lemma_neighbours(nb, pos).items():
                    if nb2 in own_lemmas or nb2 in ants:
                        continue
                    add(nb2, "2-step")
                    if same_pos:
                        for tag in tags_by_pos.get(pos, ()):
                            add(inflect(nb2, pos, tag), "2-step")
        out.pop(surface, None)
        return out

    def neighbours(self, word: str, depth: int = 1) -> dict[str, str]:
        """Related words/phrases of ``word`` (lower-cased) -> strongest relation kind.

        Same-POS neighbours come inflected like ``word`` (as lemmas too where ``word`` is a base
        form), others as lemmas. ``depth=2`` adds neighbours of synonym/similar/MyThes neighbours
        as "2-step". Cached; returns a fresh dict.
        """
        return dict(self._neighbours(_norm(word), max(1, min(int(depth), 2))))

    def related(self, a: str, b: str, depth: int = 1) -> str | None:
        """The strongest relation kind between two surface words or phrases, or ``None``."""
        a, b = _norm(a), _norm(b)
        if not a or not b or a == b:
            return None
        best: str | None = None
        for x, y in ((a, b), (b, a)):
            rel = self._neighbours(x, depth).get(y)
            if rel is not None and (best is None or _RANK[rel] < _RANK[best]):
                best = rel
        if best is None:
            # same lemma in different inflections (e.g. "forces" vs "force") is not a relation,
            # but an inflected neighbour's lemma may be: compare lemma level.
            la = {(wf.lemma, wf.pos) for wf in self._analyse(a)}
            lb = {(wf.lemma, wf.pos) for wf in self._analyse(b)}
            for lem_a, pos in la:
                nbs = self._lemma_neighbours(lem_a, pos)
                for lem_b, pos_b in lb:
                    if pos_b == pos and lem_b in nbs:
                        rel = nbs[lem_b][0]
                        if best is None or _RANK[rel] < _RANK[best]:
                            best = rel
        return best

    def is_phrase_known(self, phrase: str) -> bool:
        """Whether a word or phrase is a WordNet lemma (any inflection) or a MyThes entry."""
        p = _norm(phrase)
        if not p:
            return False
        if self._analyse(p):
            return True
        return self.mythes is not None and p in self.mythes

    def lemmas(self, word: str) -> set[str]:
        """WordNet lemmas of a surface word or phrase (all POS)."""
        return {wf.lemma for wf in self._analyse(_norm(word))}

    def written_form(self, phrase: str) -> str:
        """``phrase`` (lower case, as candidates are) with the capitals WordNet always gives it: a
        word every lemma of which WordNet writes with a capital and the rest in lower case
        ("american" -> "American", "christmas" -> "Christmas", "united states" -> "United States",
        "americans" -> "Americans"); ``phrase`` as it is for a word WordNet also writes in lower case
        ("turkey", "march"), one it writes in capitals ("aids": AIDS, "us": US, which are other words),
        the form of another word too ("fed": feed) and one it does not know."""
        return self._written_form(phrase)

    def _written_form_uncached(self, phrase: str) -> str:
        norm = _norm(phrase)
        if len({wf.lemma for wf in self._analyse(norm)}) > 1:
            return phrase  # also the form of another word ("fed": feed, and the Fed)
        key = norm.replace(" ", "_")
        for stem, ending in ((key, ""), (key[:-1], "s")) if key.endswith("s") else ((key, ""),):
            synsets = [syn for pos in "nvar" for syn in self._synsets_exact(stem, pos)]
            if not synsets:
                continue
            names = {lem.name() for syn in synsets for lem in syn.lemmas() if lem.name().lower() == stem}
            name = names.pop() if len(names) == 1 else ""
            if name and all(_TITLE_PART_RE.fullmatch(w) for w in name.split("_")):
                return name.replace("_", " ") + ending
            return phrase
        return phrase

    def cache_clear(self) -> None:
        """Forget every lookup remembered so far."""
        self._neighbours.cache_clear()
        self._lemma_neighbours.cache_clear()
        self._analyse.cache_clear()
        self._written_form.cache_clear()


def analyse(word: str, thesaurus: Thesaurus | None = None) -> list[WordForm]:
    """Module-level shortcut for ``get_thesaurus().analyse(word)``."""
    return (thesaurus or get_thesaurus()).analyse(word)


@functools.lru_cache(maxsize=4)
def _cached_thesaurus(wordnet_dir: str, mythes_path: str | None, cache_dir: str) -> Thesaurus:
    # built from these three paths alone (the thesaurus reads nothing else), not from Settings(),
    # which would read every UNSPIN_* variable again and fail on one that has nothing to do with it
    settings = Settings.model_construct(
        wordnet_dir=Path(wordnet_dir),
        mythes_path=Path(mythes_path) if mythes_path else None,
        cache_dir=Path(cache_dir),
    )
    return Thesaurus(settings)


def get_thesaurus(settings: Settings | None = None) -> Thesaurus:
    """The process-wide thesaurus for these settings (built once, then reused)."""
    s = settings or get_settings()
    return _cached_thesaurus(
        str(s.wordnet_dir), str(s.mythes_path) if s.mythes_path else None, str(s.cache_dir)
    )

