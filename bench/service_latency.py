"""Service latency and throughput: `unspin serve` on loopback, an asyncio client, 1/8/32 concurrent clients.

    python bench/service_latency.py                       # 200- and 2,000-word documents, 1, 8, 32 clients
    python bench/service_latency.py --sizes 1000 --clients 1 --requests 20
    python bench/service_latency.py --sizes 1000 --clients 1 --requests 20 --quick   # "second_look": false

Starts the service in its own process (n-gram model, default settings unless UNSPIN_* says otherwise),
waits for /readyz, then for each document size and client count sends requests as fast as the
clients can (each client waits for its answer before sending the next) and reports latency
percentiles of the answered (200) requests (p50/p95/p99), throughput (requests/s and words/s), the count of each status code
(503 = refused because the queue was full, with Retry-After), and the server's peak RSS (VmHWM).
Documents are cut from Reuters articles (``--corpus``) to the exact word counts.
Prints a Markdown table and writes JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl"


def documents(corpus: Path, words: int, n: int) -> list[str]:
    """``n`` documents of exactly ``words`` words, each a run of consecutive Reuters article text."""
    pool: list[str] = []
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            body = json.loads(line).get("body", "")
            pool.extend(body.split())
            if len(pool) >= words * n:
                break
    if len(pool) < words * n:
        raise SystemExit(f"the corpus has fewer than {words * n} words")
    return [" ".join(pool[i * words : (i + 1) * words]) for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_level(url: str, docs: list[str], clients: int, total: int, options: dict | None = None) -> dict:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    words = 0
    queue = list(range(total))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal words
        while queue:
            i = queue.pop()
            text = docs[i % len(docs)]
            t0 = time.perf_counter()
            body = {"text": text, "options": options} if options else {"text": text}
            r = await http.post(url + "/v1/score", json=body, timeout=600)
            statuses[r.status_code] += 1
            if r.status_code == 200:  # latency of answered requests; refusals (503) are counted apart
                latencies.append(time.perf_counter() - t0)
                words += r.json()["stats"]["words"]

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    ok = sorted(latencies) or [float("nan")]
    q = statistics.quantiles(ok, n=100, method="inclusive") if len(ok) > 1 else [ok[0]] * 99
    return {
        "clients": clients,
        "requests": total,
        "p50_s": round(q[49], 4),
        "p95_s": round(q[94], 4),
        "p99_s": round(q[98], 4),
        "requests_per_s": round(total / wall, 2),
        "words_per_s": round(words / wall, 1),
        "statuses": dict(statuses),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2000], help="document sizes in words")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--requests", type=int, default=64, help="requests per (size, clients) level")
    ap.add_argument("--workers", type=int, default=1, help="unspin serve --workers")
    ap.add_argument("--random-transformer", choices=["distilroberta-base", "roberta-base"], default=None,
                    help="serve a RANDOMLY INITIALISED masked LM of this architecture (built like "
                         "bench/throughput.py does) instead of the n-gram model: speed and memory only")
    ap.add_argument("--quick", action="store_true",
                    help='ask every request with "second_look": false (the service loads it all the same)')
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"corpus not found: {args.corpus} (pass --corpus)")

    port = free_port()
    env = dict(os.environ)
    env.setdefault("UNSPIN_LM", "ngram")
    model_tmp = None
    if args.random_transformer:
        import tempfile

        sys.path.insert(0, str(ROOT / "bench"))
        import throughput

        model_tmp = tempfile.TemporaryDirectory(prefix="unspin-bench-model-")
        throughput.build_random_model_dir(
            argparse.Namespace(arch=args.random_transformer, bpe_source="both", corpus=args.corpus, seed=0),
            Path(model_tmp.name),
        )
        env.update(UNSPIN_LM="transformer", UNSPIN_MODEL=model_tmp.name)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(args.workers),
         "--log-level", "warning"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    results = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "workers": args.workers,
               "lm": env["UNSPIN_LM"] + (f" (random {args.random_transformer})" if args.random_transformer else ""),
               "levels": []}
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise SystemExit("the service exited before it was ready")
            time.sleep(0.25)
        results["ready_s"] = round(time.perf_counter() - t0, 2)
        options = {"second_look": False} if args.quick else None
        results["options"] = options
        for size in args.sizes:
            docs = documents(args.corpus, size, 16)
            asyncio.run(run_level(url, docs[:4], 1, 4, options))  # warm the engine's caches on this size
            for clients in args.clients:
                level = asyncio.run(run_level(url, docs, clients, max(args.requests, clients), options))
                level["words"] = size
                results["levels"].append(level)
                print(json.dumps(level), file=sys.stderr)
        results["server_peak_rss_mib"] = round(peak_rss_mib(server.pid), 1)
    finally:
        server.terminate()
        server.wait(30)
        if model_tmp is not None:
            model_tmp.cleanup()

    asked = ' (every request with "second_look": false)' if args.quick else ""
    print(f"{results['lm']}{asked}: service ready in {results['ready_s']} s; server peak RSS {results['server_peak_rss_mib']} MiB; "
          f"{results['cpus']} CPUs, {args.workers} worker(s)\n")
    print("| words/doc | clients | p50 s | p95 s | p99 s | req/s | words/s | statuses |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for lv in results["levels"]:
        st = ", ".join(f"{k}: {v}" for k, v in sorted(lv["statuses"].items()))
        print(f"| {lv['words']} | {lv['clients']} | {lv['p50_s']} | {lv['p95_s']} | {lv['p99_s']} | "
              f"{lv['requests_per_s']} | {lv['words_per_s']} | {st} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
