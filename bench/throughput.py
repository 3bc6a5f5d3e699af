#!/usr/bin/env python
"""Engine throughput (words/s) per language-model backend, single process.

Measures ``Engine.score`` on (a) the seed texts in ``seeds/*.txt`` and (b) the first N Reuters
articles, twice each over the same texts (pass 1 = cold: includes lazy loading and cache warm-up;
pass 2 = warm), plus model load time and peak RSS. See ``bench/README.md``.

    python bench/throughput.py --backend ngram --docs 100
    python bench/throughput.py --backend transformer --docs 5 --json out.json
    python bench/throughput.py --backend both --threads 1

The transformer backend runs a RANDOMLY INITIALISED masked LM of the real architecture
(RoBERTa, vocab 50265, hidden 768, 12 heads; 6 layers = distilroberta-base, 12 = roberta-base)
with a byte-level BPE tokenizer trained here, saved to a temporary directory and loaded through
``TransformerLM.load`` like a real model. Speed does not depend on the weights' values; it does
depend on how many sub-tokens each word gets, so the report includes pieces per word.

``--backend both`` runs each backend in its own child process (clean load time, clean peak RSS,
thread settings applied before torch/numpy are imported).
"""

from __future__ import annotations

# Only the standard library above the thread set-up: OMP/MKL settings must precede numpy/torch.
import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project root (bench/..)
DEFAULT_CORPUS = Path("..") / "shared" / "corpora" / "reuters21578.jsonl"  # relative to ROOT
ARCHS = {
    # name: (layers, hidden, heads, intermediate) -- RobertaConfig, vocab 50265, 514 positions
    "distilroberta-base": (6, 768, 12, 3072),
    "roberta-base": (12, 768, 12, 3072),
}
VOCAB_SIZE = 50265
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS")


def _count(least: int):
    """An argparse type: a whole number of at least ``least``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {number}")
        return number

    return parse


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["ngram", "transformer", "both"], default="both")
    p.add_argument("--threads", type=int, choices=[1, 2], default=1,
                   help="CPU threads: sets OMP/MKL/OpenBLAS env and torch.set_num_threads; 1 also pins the "
                        "process to one core (sched_setaffinity).")
    p.add_argument("--docs", type=_count(0), default=1000,
                   help="Reuters articles to score (the first N of the file; 0: none).")
    p.add_argument("--corpus", type=Path, default=None,
                   help=f"Reuters JSONL (default: {DEFAULT_CORPUS.as_posix()} relative to the project root).")
    p.add_argument("--arch", choices=sorted(ARCHS), default="distilroberta-base",
                   help="Transformer size: distilroberta-base (6 layers) or roberta-base (12 layers).")
    p.add_argument("--bpe-source", choices=["corpus", "cmudict", "both"], default="both",
                   help="Text the stand-in BPE tokenizer is trained on: the (lower-cased) corpus bodies, the "
                        "word list of pocketsphinx's cmudict-en-us.dict, or both (default). Decides the "
                        "sub-tokens per word, which the transformer's cost is proportional to.")
    p.add_argument("--batch-size", type=_count(1), default=32, help="TransformerLM batch size (rows per forward pass).")
    p.add_argument("--fresh-cache", action="store_true",
                   help="Use an empty temporary UNSPIN cache dir, so load/pass 1 include building the n-gram "
                        "bigram index and other derived files (first run on a new machine).")
    p.add_argument("--skip-seeds", action="store_true", help="Do not run the seed texts.")
    p.add_argument("--seed", type=int, default=0, help="torch random seed for the random weights.")
    p.add_argument("--json", type=Path, default=None, help="Also write the raw numbers to this file.")
    p.add_argument("--quiet", action="store_true", help="No progress on stderr.")
    args = p.parse_args(argv)
    if args.docs == 0 and (args.skip_seeds or not seed_paths()):
        p.error("nothing to measure: --docs 0 and " + ("--skip-seeds" if args.skip_seeds else "no seeds/*.txt"))
    return args


def log(args, msg: str) -> None:
    if not args.quiet:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def corpus_path(args) -> Path:
    return args.corpus if args.corpus is not None else ROOT / DEFAULT_CORPUS


def require_corpus(args) -> Path:
    path = corpus_path(args)
    if not path.is_file():
        shown = path if args.corpus is not None else f"{DEFAULT_CORPUS.as_posix()} (relative to the project root)"
        sys.exit(
            f"throughput: Reuters corpus not found: {shown}.\n"
            "Pass its location with --corpus FILE (one JSON object a line with a 'body' field)."
        )
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def cpu_model() -> str:
    proc = platform.processor()
    if proc and proc not in ("x86_64", "aarch64", "arm64", "i386"):
        return proc
    try:  # Linux: platform.processor() is often just the machine type
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return proc


def git_commit() -> str | None:
    """HEAD of the project (read-only; numbers change as the engine is tuned)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    return info


# --------------------------------------------------------------------------- data


def seed_paths() -> list[Path]:
    return sorted((ROOT / "seeds").glob("*.txt"))


def load_seeds() -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in seed_paths()]


def load_reuters(path: Path, n: int) -> list[tuple[str, str]]:
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(docs) >= n:
                break
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            body = obj.get("body") or ""
            if body.strip():
                docs.append((str(obj.get("id", len(docs))), body))
    return docs


# --------------------------------------------------------------------------- setup


def configure_threads(threads: int, backend: str) -> dict:
    """Thread env (before numpy/torch import) and, for one thread, pin to one core."""
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    pinned = None
    if threads == 1 and hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        core = 0 if 0 in allowed else allowed[0]  # core 0 unless the container excludes it
        os.sched_setaffinity(0, {core})
        pinned = core
    return {"threads": threads, "pinned_core": pinned, "env": {v: os.environ[v] for v in THREAD_ENV}}


def bpe_training_text(args):
    """Iterator of text chunks for the stand-in BPE tokenizer (lower-case, as the engine feeds words)."""
    if args.bpe_source == "both":
        import itertools

        return itertools.chain(
            bpe_training_text(argparse.Namespace(**{**vars(args), "bpe_source": "corpus"})),
            bpe_training_text(argparse.Namespace(**{**vars(args), "bpe_source": "cmudict"})),
        )
    if args.bpe_source == "cmudict":
        import pocketsphinx

        dict_path = Path(pocketsphinx.__file__).parent / "model" / "en-us" / "cmudict-en-us.dict"
        words = []
        with open(dict_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = line.split(" ", 1)[0].split("(", 1)[0].strip().lower()
                if w:
                    words.append(w)
        # one chunk of space-separated words: every word after the first gets its 'Ġ' like in running text
        return iter([" ".join(words[i : i + 1000]) for i in range(0, len(words), 1000)])
    path = require_corpus(args)

    def gen():
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    yield " ".join((json.loads(line).get("body") or "").split()).lower()

    return gen()


def wrap_bpe(bpe, tokenizer_cls):
    """The trained byte-level BPE as a RoBERTa tokenizer (transformers 4.x and 5.x signatures)."""
    import inspect

    model = json.loads(bpe._tokenizer.to_str())["model"]
    vocab = model["vocab"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    params = inspect.signature(tokenizer_cls.__init__).parameters
    if "vocab" in params and "merges" in params:  # transformers >= 5: in-memory vocab and merges
        return tokenizer_cls(vocab=vocab, merges=merges, model_max_length=512)
    with tempfile.TemporaryDirectory(prefix="unspin-bpe-") as d:  # transformers 4.x: files
        bpe.save_model(d)
        return tokenizer_cls(
            vocab_file=str(Path(d) / "vocab.json"), merges_file=str(Path(d) / "merges.txt"), model_max_length=512
        )


def roberta_config(arch: str):
    """The ``RobertaConfig`` of a stand-in model of this architecture (see :data:`ARCHS`)."""
    from transformers import RobertaConfig

    layers, hidden, heads, inter = ARCHS[arch]
    return RobertaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inter,
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )


def build_random_model_dir(args, out_dir: Path) -> dict:
    """Train a byte-level BPE (vocab 50265), init a random RoBERTa MLM, save both like a hub model."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaForMaskedLM, RobertaTokenizerFast

    t0 = time.perf_counter()
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(
        bpe_training_text(args),
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    tok = wrap_bpe(bpe, RobertaTokenizerFast)
    if len(tok) < 1000:  # a silently empty vocabulary would map every word to <unk> and fake the speed
        raise SystemExit(f"throughput: the stand-in tokenizer has only {len(tok)} entries; cannot benchmark.")
    t_tok = time.perf_counter() - t0

    t0 = time.perf_counter()
    layers, hidden, heads, _ = ARCHS[args.arch]
    torch.manual_seed(args.seed)
    model = RobertaForMaskedLM(roberta_config(args.arch)).eval()
    t_init = time.perf_counter() - t0

    t0 = time.perf_counter()
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    t_save = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters())
    del model
    return {
        "arch": args.arch,
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "vocab_size_config": VOCAB_SIZE,
        "tokenizer_vocab_size": len(tok),
        "bpe_source": args.bpe_source,
        "parameters": n_params,
        "tokenizer_train_s": round(t_tok, 3),
        "random_init_s": round(t_init, 3),
        "save_s": round(t_save, 3),
    }


def pieces_per_word(lm, texts: list[str]) -> float | None:
    """Mean sub-tokens per word for the words the engine would hand the LM (lower-cased word tokens)."""
    from service.text import segment

    n_words = n_pieces = 0
    for text in texts:
        for sent in segment(text):
            words = [t.norm for t in sent.tokens if t.is_word]
            if words:
                n_words += len(words)
                n_pieces += sum(map(len, lm._sentence_pieces(words)))
    return round(n_pieces / n_words, 4) if n_words else None


# --------------------------------------------------------------------------- measuring


def run_pass(args, engine, docs: list[tuple[str, str]], label: str) -> dict:
    from service.decoding import InputError

    lm_stats = getattr(engine.lm, "stats", None)
    rows0 = dict(lm_stats) if isinstance(lm_stats, dict) else None
    words = spans = skipped = 0
    engine_seconds = 0.0
    t_next = time.perf_counter() + 10
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i, (_doc_id, text) in enumerate(docs):
        try:
            report = engine.score(text)
        except InputError:
            skipped += 1
            continue
        words += report.stats.words
        spans += len(report.spans)
        engine_seconds += report.stats.seconds
        now = time.perf_counter()
        if now >= t_next:
            log(args, f"  {label}: {i + 1}/{len(docs)} docs, {words} words, {words / (now - t0):.1f} words/s")
            t_next = now + 10
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    out = {
        "docs": len(docs) - skipped,
        "skipped": skipped,
        "words": words,
        "spans": spans,
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu, 4),
        "words_per_s": round(words / seconds, 2) if seconds > 0 else None,
        "report_seconds_sum": round(engine_seconds, 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if rows0 is not None:
        out["lm_rows"] = lm_stats["rows"] - rows0["rows"]
        out["lm_batches"] = lm_stats["batches"] - rows0["batches"]
    log(args, f"  {label}: {words} words in {seconds:.2f} s = {out['words_per_s']} words/s")
    return out


def run_backend(args) -> dict:
    """Everything for one backend, in this process."""
    threads = configure_threads(args.threads, args.backend)
    rss_start = peak_rss_mb()
    t0 = time.perf_counter()
    import numpy  # noqa: F401  (after the thread env)

    from service.config import Settings
    from service.engine import Engine, build_engine
    from service.lm.ngram import NGramLM

    torch_version = transformers_version = tokenizers_version = None
    if args.backend == "transformer":
        import tokenizers
        import torch
        import transformers

        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        torch_version, transformers_version = torch.__version__, transformers.__version__
        tokenizers_version = tokenizers.__version__
    else:  # version only: importing torch would inflate the n-gram backend's RSS
        from importlib import metadata

        try:
            torch_version = metadata.version("torch")
        except metadata.PackageNotFoundError:
            pass
    import_s = time.perf_counter() - t0

    # data first: a missing corpus fails before any slow set-up
    docs_reuters = load_reuters(require_corpus(args), args.docs) if args.docs > 0 else []
    docs_seeds = [] if args.skip_seeds else load_seeds()

    tmp = tempfile.TemporaryDirectory(prefix="unspin-bench-")
    settings_kw = {}
    if args.fresh_cache:
        settings_kw["cache_dir"] = Path(tmp.name) / "cache"
    result: dict = {"backend": args.backend, "threads": threads, "import_s": round(import_s, 3)}
    try:
        if args.backend == "ngram":
            t0 = time.perf_counter()
            engine = build_engine(Settings(lm="ngram", **settings_kw))
            result["load"] = {"engine_s": round(time.perf_counter() - t0, 3)}
            result["load"]["total_s"] = result["load"]["engine_s"]
        else:
            from service.lm.transformer import TransformerLM

            model_dir = Path(tmp.name) / f"{args.arch}-random"
            model_dir.mkdir()
            log(args, f"building random {args.arch} + BPE tokenizer ({args.bpe_source}) ...")
            result["model"] = build_random_model_dir(args, model_dir)
            log(args, f"  done: {result['model']}")
            t0 = time.perf_counter()
            lm = TransformerLM.load(
                str(model_dir), device="cpu", local_files_only=True, batch_size=args.batch_size, num_threads=args.threads
            )
            t_model = time.perf_counter() - t0
            t0 = time.perf_counter()
            settings = Settings(lm="transformer", model=str(model_dir), **settings_kw)
            engine = Engine(settings, lm=lm, ngram=NGramLM(settings.ngram_path, settings.cache_dir))
            t_engine = time.perf_counter() - t0
            result["load"] = {
                "model_s": round(t_model, 3),
                "engine_s": round(t_engine, 3),
                "total_s": round(t_model + t_engine, 3),
            }
            result["model"]["batch_size"] = args.batch_size
            result["model"]["max_length"] = lm.max_length
            result["torch_threads"] = torch.get_num_threads()
        result["lm_name"] = engine.lm.name
        result["peak_rss_mb_start"] = round(rss_start, 1)
        result["peak_rss_mb_after_load"] = round(peak_rss_mb(), 1)
        log(args, f"{args.backend}: loaded in {result['load']['total_s']} s ({engine.lm.name})")

        # Order: seeds pass 1, seeds pass 2, Reuters pass 1, Reuters pass 2. Pass 1 of the seeds is
        # the first scoring after load (lazy indexes, caches); Reuters pass 1 is cold for its texts.
        result["sets"] = {}
        for name, docs in (("seeds", docs_seeds), ("reuters", docs_reuters)):
            if not docs:
                continue
            log(args, f"{args.backend}: {name}, {len(docs)} docs")
            p1 = run_pass(args, engine, docs, f"{name} pass 1")
            p2 = run_pass(args, engine, docs, f"{name} pass 2")
            result["sets"][name] = {"pass1": p1, "pass2": p2}
        if args.backend == "transformer":
            sample = [t for _, t in (docs_seeds + docs_reuters)][:50]
            result["model"]["pieces_per_word"] = pieces_per_word(engine.lm, sample)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    finally:
        tmp.cleanup()
    result["versions"] = {
        "torch": torch_version,
        "transformers": transformers_version,
        "tokenizers": tokenizers_version,
        "numpy": sys.modules["numpy"].__version__,
    }
    return result


# --------------------------------------------------------------------------- output


def _fmt(v, nd=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def markdown(runs: list[dict], meta: dict) -> str:
    lines = [
        f"Machine: {meta.get('cpu_model') or meta.get('processor') or '?'}, {meta.get('cpu_count')} CPUs "
        f"({meta.get('cpus_available', '?')} available); Python {meta.get('python')}; "
        f"torch {runs[0]['versions'].get('torch') if runs else '-'}; commit {meta.get('git_commit') or '-'}; "
        f"{meta.get('date')}",
        "",
        "| backend | threads | set | docs | words | pass 1 s | pass 1 words/s | pass 2 s | pass 2 words/s | peak RSS MiB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        label = r["lm_name"]
        for name, s in r.get("sets", {}).items():
            p1, p2 = s["pass1"], s["pass2"]
            lines.append(
                f"| {label} | {r['threads']['threads']} | {name} | {p1['docs']} | {_fmt(p1['words'])} | "
                f"{_fmt(p1['seconds'])} | {_fmt(p1['words_per_s'], 1)} | {_fmt(p2['seconds'])} | "
                f"{_fmt(p2['words_per_s'], 1)} | {_fmt(p2['peak_rss_mb'], 0)} |"
            )
    lines += [
        "",
        "| backend | threads | import s | load s (total) | load detail | RSS after load MiB | peak RSS MiB | model |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in runs:
        detail = ", ".join(f"{k} {v}" for k, v in r["load"].items() if k != "total_s")
        m = r.get("model")
        model = "-"
        if m:
            model = (
                f"{m['arch']} random ({m['layers']} layers, {m['parameters'] / 1e6:.0f} M params), "
                f"BPE on {m['bpe_source']} ({m['tokenizer_vocab_size']} pieces, "
                f"{m.get('pieces_per_word')} pieces/word), batch {m['batch_size']}"
            )
        lines.append(
            f"| {r['lm_name']} | {r['threads']['threads']} | {_fmt(r['import_s'])} | {_fmt(r['load']['total_s'])} | "
            f"{detail} | {_fmt(r['peak_rss_mb_after_load'], 0)} | {_fmt(r['peak_rss_mb'], 0)} | {model} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    meta = machine_info()
    meta["argv"] = sys.argv[1:] if argv is None else list(argv)
    meta["corpus"] = corpus_path(args).name
    if args.docs > 0:
        require_corpus(args)  # fail fast with a clear message, before any work

    if args.backend == "both":
        runs = []
        for backend in ("ngram", "transformer"):
            with tempfile.TemporaryDirectory(prefix="unspin-bench-") as d:
                out = Path(d) / "run.json"
                cmd = [sys.executable, str(Path(__file__).resolve()), "--backend", backend, "--json", str(out)]
                cmd += _passthrough(args)
                log(args, f"child: {backend}")
                rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
                if rc != 0:
                    print(f"throughput: the {backend} run failed (exit {rc}).", file=sys.stderr)
                    return rc
                runs.extend(json.loads(out.read_text(encoding="utf-8"))["runs"])
    else:
        runs = [run_backend(args)]

    table = markdown(runs, meta)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "runs": runs, "table": table}, indent=2) + "\n", encoding="utf-8")
        log(args, f"wrote {args.json}")
    return 0


def _passthrough(args) -> list[str]:
    out = ["--threads", str(args.threads), "--docs", str(args.docs), "--arch", args.arch,
           "--bpe-source", args.bpe_source, "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    if args.corpus is not None:
        out += ["--corpus", str(args.corpus)]
    for flag in ("fresh_cache", "skip_seeds", "quiet"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run from anywhere without installing the package
    sys.exit(main())
