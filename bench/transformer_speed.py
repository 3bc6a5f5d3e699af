#!/usr/bin/env python
"""Transformer backend speed: every-token PLL baseline vs compare-everything vs screened, one run.

For a RANDOMLY INITIALISED masked LM of the real architecture (built like ``bench/throughput.py``
does: RoBERTa config, byte-level BPE trained here, saved and loaded through ``TransformerLM.load``)
it measures, in ONE process and on the SAME texts, words per second of:

* ``pll``: the textbook baseline, pseudo-log-likelihood masking each sub-token of each sentence
  once (one model row per sub-token; language model only, no engine work, which flatters it);
* ``compare-all``: ``Engine.score`` with ``UNSPIN_SCREEN_KEEP=1`` (masked passes for every
  candidate of every eligible slot: the path before screening);
* ``screened K/M``: ``Engine.score`` with ``UNSPIN_SCREEN_KEEP=K`` and ``UNSPIN_SCREEN_CANDIDATES=M``
  (one unmasked pass per sentence, masked passes only for the K most doubtful fraction of slots
  and their M best-screened candidates), for each ``--screens`` value;
* ``screened K/M int8`` (with ``--quantize``): the first ``--screens`` value on a dynamically
  int8-quantized copy of the model, plus how far its screen scores are from the float model's.

for each ``--threads`` value (1 = pinned to one core), then prints ratios measured in the run and
peak RSS. See ``bench/README.md``.

    python bench/transformer_speed.py                  # defaults: 2 Reuters articles, 1 and 2 threads, every path
    python bench/transformer_speed.py --threads 2 --seeds 2 --docs 0 --skip-all --quantize --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput as tp  # noqa: E402  (the shared helpers: stand-in model, corpus, machine info)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2", help="Comma-separated thread counts to run (default 1,2).")
    p.add_argument("--docs", type=int, default=2, help="Reuters articles (the first N) added to the texts.")
    p.add_argument("--seeds", type=int, default=0, help="Seed texts (seeds/*.txt, in name order) added to the texts.")
    p.add_argument("--corpus", type=Path, default=None, help="Reuters JSONL (default: ../shared/corpora/reuters21578.jsonl).")
    p.add_argument("--arch", choices=sorted(tp.ARCHS), default="distilroberta-base")
    p.add_argument("--bpe-source", choices=["corpus", "cmudict", "both"], default="both")
    p.add_argument("--screens", default="0.1/4,0.1/8,0.25/8",
                   help="Comma-separated KEEP/CANDIDATES pairs (UNSPIN_SCREEN_KEEP/UNSPIN_SCREEN_CANDIDATES) to run.")
    p.add_argument("--batch-size", type=int, default=32, help="TransformerLM rows per forward pass.")
    p.add_argument("--quantize", action="store_true", help="Also run the screened path on an int8-quantized copy.")
    p.add_argument("--skip-all", action="store_true", help="Skip the (slow) compare-everything path.")
    p.add_argument("--skip-pll", action="store_true", help="Skip the every-token PLL baseline.")
    p.add_argument("--seed", type=int, default=0, help="torch seed of the random weights.")
    p.add_argument("--json", type=Path, default=None, help="Also write the raw numbers here.")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    args.thread_list = [int(t) for t in args.threads.split(",") if t.strip()]
    args.screen_list = [(float(k), int(m)) for k, m in (x.split("/") for x in args.screens.split(",") if x.strip())]
    return args


def set_threads(n: int) -> dict:
    """torch intra-op threads; one thread is also pinned to one core, more get every allowed core back."""
    import torch

    torch.set_num_threads(n)
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(ALLOWED)
        cores = {0 if 0 in allowed else allowed[0]} if n == 1 else set(allowed)
        os.sched_setaffinity(0, cores)
        pinned = sorted(cores)
    return {"threads": n, "cores": pinned}


def sentences_of(texts: list[str]) -> list[list[str]]:
    """The word lists the engine hands the LM (same tokens as ``Engine``: words lower-cased, numbers ``<num>``)."""
    from service.lm.base import lm_words
    from service.text import segment

    out = []
    for text in texts:
        for sent in segment(text):
            words = lm_words(sent.tokens)
            if words:
                out.append(words)
    return out


def pll_rows(lm, sentences: list[list[str]]):
    """The every-token masked baseline's rows: each sub-token masked once, with the sentence around it."""
    from service.lm.transformer import _Rows

    rows = _Rows()
    for words in sentences:
        pieces = lm._sentence_pieces(words)
        where = lm._unmasked_inputs(pieces)
        for p, (ids, pos) in zip(pieces, where):
            for j in range(len(p)):
                masked = list(ids)
                masked[pos + j] = lm.mask_id
                rows.token(masked, pos + j, ids[pos + j])
    return rows


def int8_agreement(engine, lm_q, docs: list[str], keep: float) -> dict:
    """Screen scores of the float and the int8 model on the same slots: max |diff|, rank overlap of the kept slots."""
    import numpy as np

    from service.lm.base import screen_select

    eng, lm = engine, engine.lm
    captured = []
    real = lm.compare
    lm.compare = lambda slots: captured.extend(slots) or [np.zeros(1 + len(s.alternatives)) for s in slots]
    try:
        for d in docs:
            eng.analyze(d)
    finally:
        lm.compare = real
    a, b = lm.screen(captured), lm_q.screen(captured)
    diff = max((float(np.max(np.abs(x - y)[np.isfinite(x)])) for x, y in zip(a, b) if np.isfinite(x).any()), default=0.0)
    ka = {i for i, _ in screen_select(a, keep, 0)}
    kb = {i for i, _ in screen_select(b, keep, 0)}
    return {"slots": len(captured), "max_abs_diff": round(diff, 4), "keep": keep,
            "kept_overlap": round(len(ka & kb) / max(1, len(ka)), 4)}


def timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    args = parse_args(argv)
    for var in tp.THREAD_ENV:  # the pools are sized for the most threads asked; set_num_threads lowers it
        os.environ[var] = str(max(args.thread_list))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    global ALLOWED
    ALLOWED = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
    meta = tp.machine_info()
    meta["argv"] = sys.argv[1:] if argv is None else list(argv)

    import torch

    from service.config import Settings
    from service.engine import Engine
    from service.lm.ngram import NGramLM
    from service.lm.transformer import TransformerLM

    log = lambda msg: None if args.quiet else print(f"[speed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    ns = argparse.Namespace(arch=args.arch, bpe_source=args.bpe_source, seed=args.seed, corpus=args.corpus)
    docs = [t for _, t in tp.load_seeds()[: args.seeds]]
    if args.docs > 0:
        docs += [t for _, t in tp.load_reuters(tp.require_corpus(ns), args.docs)]
    result: dict = {"meta": meta, "runs": []}
    with tempfile.TemporaryDirectory(prefix="unspin-speed-") as tmp:
        model_dir = Path(tmp) / f"{args.arch}-random"
        model_dir.mkdir()
        log(f"building random {args.arch} + BPE ({args.bpe_source}) ...")
        result["model"] = tp.build_random_model_dir(ns, model_dir)
        t0 = time.perf_counter()
        lm = TransformerLM.load(str(model_dir), local_files_only=True, batch_size=args.batch_size)
        result["model"]["load_s"] = round(time.perf_counter() - t0, 3)
        result["model"]["logit_rows"] = lm._logit_rows is not None
        lm_q = None
        if args.quantize:
            t0 = time.perf_counter()
            lm_q = TransformerLM.load(str(model_dir), local_files_only=True, batch_size=args.batch_size, quantize="int8")
            result["model"]["load_int8_s"] = round(time.perf_counter() - t0, 3)
        settings = Settings(lm="transformer", model=str(model_dir), screen_keep=1.0)
        engine = Engine(settings, lm=lm, ngram=NGramLM(settings.ngram_path, settings.cache_dir))
        result["rss_after_load_mb"] = round(tp.peak_rss_mb(), 1)
        if lm_q is not None:  # how far int8 moves the screen's scores (same slots, float vs int8)
            result["int8_agreement"] = int8_agreement(engine, lm_q, docs, args.screen_list[0][0])
        sentences = sentences_of(docs)
        words = sum(map(len, sentences))
        result["texts"] = {"docs": len(docs), "sentences": len(sentences), "lm_words": words}
        result["model"]["pieces_per_word"] = tp.pieces_per_word(lm, docs)

        # warm-up: thesaurus/candidate caches and the piece cache (screen only, keep 0): not timed
        engine.settings = settings.model_copy(update={"screen_keep": 0.0})
        for d in docs:
            engine.score(d, grammar=False)

        def engine_run(the_lm, keep: float, cands: int = 0) -> dict:
            engine.lm = the_lm
            engine.settings = settings.model_copy(update={"screen_keep": keep, "screen_candidates": cands})
            r0 = dict(the_lm.stats)
            reports, wall, cpu = timed(lambda: [engine.score(d, grammar=False) for d in docs])
            n = sum(r.stats.words for r in reports)
            return {
                "words": n, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                "words_per_s": round(n / wall, 2), "lm_rows": the_lm.stats["rows"] - r0["rows"],
                "spans": sum(len(r.spans) for r in reports), "peak_rss_mb": round(tp.peak_rss_mb(), 1),
                "top_spans": [[(s.start, s.end) for s in r.spans if s.kind == "spun"] for r in reports],
            }

        for n in args.thread_list:
            th = set_threads(n)
            run: dict = {"threads": th, "paths": {}}
            if not args.skip_pll:
                log(f"threads {n}: pll baseline")
                rows = pll_rows(lm, sentences)
                r0 = lm.stats["rows"]
                _, wall, cpu = timed(lambda: lm._run(rows))
                run["paths"]["pll"] = {
                    "words": words, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
                    "words_per_s": round(words / wall, 2), "lm_rows": lm.stats["rows"] - r0,
                    "peak_rss_mb": round(tp.peak_rss_mb(), 1),
                }
                log(f"  pll: {run['paths']['pll']['words_per_s']} LM words/s")
            for i, (keep, cands) in enumerate(args.screen_list):
                name = f"screened {keep}/{cands}"
                log(f"threads {n}: {name}")
                run["paths"][name] = engine_run(lm, keep, cands)
                log(f"  {run['paths'][name]['words_per_s']} words/s")
                if lm_q is not None and i == 0:
                    run["paths"][name + " int8"] = engine_run(lm_q, keep, cands)
                    log(f"  int8: {run['paths'][name + ' int8']['words_per_s']} words/s")
            if not args.skip_all:
                log(f"threads {n}: compare-all (slow)")
                run["paths"]["compare-all"] = engine_run(lm, 1.0)
                log(f"  {run['paths']['compare-all']['words_per_s']} words/s")
            result["runs"].append(run)
        engine.lm = lm
    result["peak_rss_mb"] = round(tp.peak_rss_mb(), 1)
    result["table"] = markdown(result)
    print(result["table"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def markdown(result: dict) -> str:
    m, meta, texts = result["model"], result["meta"], result["texts"]
    lines = [
        f"Machine: {meta.get('cpu_model')}, {meta.get('cpu_count')} CPUs ({meta.get('cpus_available', '?')} available); "
        f"Python {meta.get('python')}; commit {meta.get('git_commit') or '-'}; {meta.get('date')}",
        f"Model: {m['arch']} random ({m['layers']} layers, {m['parameters'] / 1e6:.0f} M params), "
        f"{m['pieces_per_word']} pieces/word; texts: {texts['docs']} docs, {texts['sentences']} sentences, "
        f"{texts['lm_words']} LM words" + (f"; int8 vs float screen: {result['int8_agreement']}" if "int8_agreement" in result else ""),
        "",
        "| threads | path | words | seconds | words/s | model rows | × vs pll | × vs compare-all | peak RSS MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        paths = run["paths"]
        base = paths.get("pll", {}).get("words_per_s")
        allp = paths.get("compare-all", {}).get("words_per_s")
        for name, p in paths.items():
            lines.append(
                f"| {run['threads']['threads']} | {name} | {p['words']:,} | {p['seconds']:.2f} | {p['words_per_s']:,.1f} | "
                f"{p['lm_rows']:,} | {(p['words_per_s'] / base) if base else float('nan'):.1f} | "
                f"{(p['words_per_s'] / allp) if allp else float('nan'):.1f} | {p['peak_rss_mb']:,.0f} |"
            )
    return "\n".join(lines)


ALLOWED: set[int] = set()

if __name__ == "__main__":
    sys.exit(main())
