"""Does cost grow linearly with text length? Engine words/s on one document of 1 k, 10 k and 100 k words.

    python bench/scaling.py                      # n-gram engine, sizes 1000 10000 100000
    python bench/scaling.py --sizes 1000 10000 --repeat 2

Each document is a run of consecutive Reuters article bodies (``--corpus``), cut at a paragraph
break near the size, scored in one ``Engine.score`` call (``UNSPIN_MAX_CHARS`` is raised to fit).
Every size is scored ``--repeat`` times; the last pass is reported (warm caches: the rate then
reflects the algorithm, not first-seen words). Also reports the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl"


def document(corpus: Path, words: int) -> str:
    """Consecutive article bodies, paragraphs kept, until ``words`` words."""
    parts, n = [], 0
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            body = json.loads(line).get("body", "").strip()
            if not body:
                continue
            parts.append(body)
            n += len(body.split())
            if n >= words:
                break
    return "\n\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"corpus not found: {args.corpus} (pass --corpus)")

    from service.config import Settings
    from service.engine import build_engine

    docs = {size: document(args.corpus, size) for size in args.sizes}
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
