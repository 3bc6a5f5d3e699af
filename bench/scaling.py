"""Does cost grow linearly with text length? Engine words/s on one document of 1 k, 10 k and 100 k words.

    python bench/scaling.py                      # n-gram engine, sizes 1000 10000 100000
    python bench/scaling.py --sizes 1000 10000 --repeat 2

Each document is a run of consecutive Reuters article bodies (``--corpus``), cut at the paragraph
break nearest the size in whitespace-separated words (at least one paragraph; the engine's own word
count, reported, differs a little), scored in one ``Engine.score`` call (``UNSPIN_MAX_CHARS`` is
raised to fit). The engine is the n-gram one as the ``UNSPIN_*`` settings make it: with the second
look where its model is installed, unless ``UNSPIN_SECOND_LOOK=off``.
Every size is scored ``--repeat`` times; the last pass is reported (warm caches: the rate then
reflects the algorithm, not first-seen words). Also reports the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl"


#: Where a paragraph ends inside an article body: the next line is indented (Reuters) or blank.
PARAGRAPH_BREAK = re.compile(r"\n(?=[ \t]+\S)|\n[ \t]*\n")


def document(corpus: Path, words: int) -> str:
    """Consecutive article bodies, paragraphs kept, cut at the paragraph break nearest ``words`` words."""
    text, n = "", 0
    best = (words, "")  # (distance from the size, text up to that break); never an empty document
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            body = (json.loads(line).get("body") or "").strip()
            if not body:
                continue
            prefix = text + "\n\n" if text else ""
            start = 0
            ends = [m.start() for m in PARAGRAPH_BREAK.finditer(body)] + [len(body)]
            for end in ends:
                n += len(body[start:end].split())
                start = end
                if n and (abs(n - words) < best[0] or not best[1]):
                    best = (abs(n - words), prefix + body[:end])
                if n >= words:
                    return best[1]
            text = prefix + body
    return best[1]


def count(value: str) -> int:
    """A positive integer (argparse type): a size or a number of passes."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--sizes", type=count, nargs="+", default=[1000, 10_000, 100_000],
                    help="target words of each document (each at least 1)")
    ap.add_argument("--repeat", type=count, default=2, help="passes over each document (at least 1); the last is reported")
    args = ap.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"corpus not found: {args.corpus} (pass --corpus)")

    docs = {size: document(args.corpus, size) for size in args.sizes}
    if not all(docs.values()):
        raise SystemExit(f"no article body in {args.corpus}")

    from service.config import Settings
    from service.engine import build_engine

    engine = build_engine(Settings(lm="ngram", max_chars=max(len(d) for d in docs.values()) + 1))
    print("| words (target) | words | characters | seconds | words/s |")
    print("|---:|---:|---:|---:|---:|")
    for size, text in docs.items():
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = engine.score(text, grammar=False)
            seconds = time.perf_counter() - t0
        print(f"| {size:,} | {report.stats.words:,} | {len(text):,} | {seconds:.2f} | {report.stats.words / seconds:,.0f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
