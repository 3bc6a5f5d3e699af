"""The ``unspin`` command: ``score``, ``eval``, ``train``, ``make-data``.

A thin shell over :class:`service.engine.Engine`: it reads files, calls the engine and prints.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterator, TextIO

import click

from service.config import get_settings
from service.report import Report

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}


def iter_inputs(paths: tuple[str, ...]) -> Iterator[tuple[str, Path | None]]:
    """(display name, path) for each input; folders are walked recursively; '-' is stdin."""
    for p in paths:
        if p == "-":
            yield "-", None
            continue
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES and not f.name.startswith("."):
                    yield str(f), f
        else:
            yield str(path), path


def _read(name: str, path: Path | None) -> str:
    from service.text import decode

    data = sys.stdin.buffer.read() if path is None else path.read_bytes()
    return decode(data)


def format_listing(report: Report, text: str) -> str:
    """Human-readable listing: one line per span, ``written → suggestion`` with its score.

    A one-word span is shown with the next word for context ("terrific powers → great powers").
    """
    lines = [
        f"{report.path or report.id or '-'}: {report.label} (score {report.score:.2f}, "
        f"{len(report.spans)} spans, {report.stats.words} words, lm {report.lm}, "
        f"grammar {'checked' if report.grammar.checked else 'not checked: ' + report.grammar.reason})"
    ]
    for s in report.spans:
        before, tail = s.text, ""
        if " " not in s.text.strip():
            rest = text[s.end : s.end + 40]
            nxt = rest.split()[0] if rest[:1] == " " and rest.split() else ""
            nxt = nxt.rstrip(".,;:!?\"”’)")
            if nxt.isalpha():
                tail = " " + nxt
        best = s.suggestions[0].text if s.suggestions else "?"
        others = ", ".join(x.text for x in s.suggestions[1:3])
        line_no = text.count("\n", 0, s.start) + 1
        lines.append(
            f"  {s.score:.2f}  {before}{tail} → {best}{tail}"
            + (f"   (also: {others})" if others else "")
            + f"   [line {line_no}, {s.start}-{s.end}, {s.evidence.get('relation', '')}]"
        )
    return "\n".join(lines)


@click.group()
@click.version_option(package_name="unspin")
def main() -> None:
    """Find synonym-spun, paraphrased or garbled text and suggest the likely original."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl"]), default="text", show_default=True)
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Report spans scoring at least this.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, help="Write here.")
def score(paths: tuple[str, ...], fmt: str, threshold: float | None, output: str | None) -> None:
    """Score files, folders (recursively) and '-' (stdin). Exit code 1 if any document failed."""
    from tqdm import tqdm

    from service.engine import get_engine
    from service.text import InputError

    engine = get_engine(get_settings())
    inputs = list(iter_inputs(paths))
    out: TextIO = open(output + ".part", "w", encoding="utf-8") if output else sys.stdout
    failed = 0
    try:
        for name, path in tqdm(inputs, unit="doc", disable=not sys.stderr.isatty() or len(inputs) < 2, file=sys.stderr):
            try:
                text = _read(name, path)
                report = engine.score(text, path=name, threshold=threshold)
            except (InputError, OSError) as e:
                failed += 1
                err = {"path": name, "error": str(e)}
                if fmt == "text":
                    click.echo(f"{name}: error: {e}", err=True)
                else:
                    out.write(json.dumps(err) + "\n")
                continue
            if fmt == "text":
                out.write(format_listing(report, text) + "\n")
            elif fmt == "json":
                out.write(report.model_dump_json(indent=2) + "\n")
            else:
                out.write(report.model_dump_json() + "\n")
    finally:
        if output:
            out.close()
            os.replace(output + ".part", output)
    if failed:
        click.echo(f"{failed} of {len(inputs)} documents failed", err=True)
        sys.exit(1)


def _read_docs(path: str) -> list[dict]:
    """A JSONL file of ``{"text", ...}`` documents, or a folder/file of plain texts."""
    p = Path(path)
    if p.is_file() and p.suffix == ".jsonl":
        with open(p, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    return [{"id": name, "text": _read(name, fp), "spans": []} for name, fp in iter_inputs((path,))]


@main.command("eval")
@click.option("--gold", "gold_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL: one document per line, {\"path\" or \"text\", \"spans\": [{start, end, text, original}]}.")
@click.option("--texts", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder the gold file's \"path\" entries are relative to (default: the gold file's folder).")
@click.option("--clean", "clean_paths", multiple=True, type=click.Path(exists=True),
              help="Clean documents (folder of texts or JSONL with \"text\"): false flags per 1,000 words.")
@click.option("--limit", type=int, default=None, help="Use at most this many documents from each source.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
def eval_cmd(gold_path: str, texts: str | None, clean_paths: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """Span precision/recall/F1, suggestion accuracy@1/@3, false flags per 1k clean words, document AUC."""
    from tqdm import tqdm

    from service.engine import get_engine
    from service.evaluation import EvalDoc, evaluate, load_gold

    engine = get_engine(get_settings())
    docs: list[EvalDoc] = []
    gold_docs = load_gold(gold_path, texts)[:limit]
    clean_docs = [d for c in clean_paths for d in _read_docs(c)[:limit]]
    show = sys.stderr.isatty()
    for g in tqdm(gold_docs, desc="gold", disable=not show, file=sys.stderr):
        r = engine.score(g.text)
        docs.append(EvalDoc(text=g.text, gold=g.spans, predicted=r.spans, words=r.stats.words,
                            clean=not g.spans, score=r.score, id=g.id))
    for c in tqdm(clean_docs, desc="clean", disable=not show, file=sys.stderr):
        r = engine.score(c["text"])
        docs.append(EvalDoc(text=c["text"], predicted=r.spans, words=r.stats.words, clean=True,
                            score=r.score, id=c.get("id")))
    m = evaluate(docs)
    click.echo(json.dumps(m.to_dict(), indent=2) if as_json else f"lm: {engine.lm.name}\n" + m.as_table())


@main.command("make-data")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), required=True, help="Reuters-style JSONL corpus.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("--train", "n_train", type=int, default=1000, show_default=True)
@click.option("--test", "n_test", type=int, default=300, show_default=True)
@click.option("--rate", type=float, default=0.08, show_default=True, help="Fraction of eligible words spun.")
@click.option("--seed", type=int, default=0, show_default=True)
def make_data(corpus: str, out_dir: str, n_train: int, n_test: int, rate: float, seed: int) -> None:
    """Spin clean documents into labelled train/test sets (+ a clean held-out set)."""
    from service.spinner import make_dataset

    stats = make_dataset(corpus, out_dir, n_train=n_train, n_test=n_test, rate=rate, seed=seed, progress=sys.stderr.isatty())
    click.echo(json.dumps(stats, indent=2))


@main.command()
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="train.jsonl from 'unspin make-data' ({\"text\", \"clean\", \"spans\"}).")
@click.option("--docs", "n_docs", type=int, default=500, show_default=True, help="Spun documents to learn from.")
@click.option("--clean-docs", "n_clean", type=int, default=400, show_default=True,
              help="Other documents' clean originals to calibrate thresholds on.")
@click.option("--target", type=float, default=2.0, show_default=True, help="False flags per 1,000 clean words allowed.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True, help="Where to write the fusion JSON.")
def train(data_path: str, n_docs: int, n_clean: int, target: float, out_path: str) -> None:
    """Learn the fusion from synthetic spun documents and calibrate it on clean ones."""
    from tqdm import tqdm

    from service.engine import build_engine
    from service.scoring import FusionModel
    from service.training import train as train_fusion

    docs = _read_docs(data_path)
    engine = build_engine(get_settings())
    engine.fusion = FusionModel.neutral()
    spun, clean = docs[:n_docs], [d.get("clean") or d["text"] for d in docs[n_docs : n_docs + n_clean]]
    show = sys.stderr.isatty()
    res = train_fusion(engine, spun, clean, target_per_1k=target,
                       progress=lambda it: tqdm(it, total=len(spun), desc="train", disable=not show, file=sys.stderr))
    res.fusion.meta = {**(res.fusion.meta or {}), "lm": engine.lm.name, "data": Path(data_path).name}
    res.fusion.save(Path(out_path))
    click.echo(f"{res.rows} candidate rows, {res.positives} positive; threshold {res.fusion.threshold:.3f} gives "
               f"{res.false_flags_per_1k:.2f} false flags per 1,000 clean words ({res.clean_words} words) -> {out_path}")


if __name__ == "__main__":  # pragma: no cover
    main()
