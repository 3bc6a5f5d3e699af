#!/usr/bin/env python
"""ONNX Runtime vs PyTorch for the transformer backend's encoder pass, float and int8, one run.

The transformer backend spends its model time in the encoder (``model.base_model``: hidden states
for a batch of sentences); the vocabulary head is computed only for the few positions and tokens
it needs. This script times exactly that encoder call for a RANDOMLY INITIALISED model of the real
architecture (speed does not depend on the weights) four ways, on the same input, in one process:

* ``torch fp32``: what the backend runs by default;
* ``torch int8``: ``torch.ao.quantization.quantize_dynamic`` on the ``nn.Linear`` layers
  (``UNSPIN_QUANTIZE=int8``);
* ``ORT fp32``: the encoder exported with ``torch.onnx.export``, run by ONNX Runtime with all graph
  optimisations;
* ``ORT int8``: that export after ``onnxruntime.quantization.quantize_dynamic`` (int8 weights).

It needs ``pip install onnxruntime onnx onnxscript`` (not dependencies of unspin: ONNX Runtime did
not win, see bench/README.md). Each time is the best of ``--repeat`` calls after one warm-up.

    python bench/onnx_runtime.py                       # distilroberta-base size, 1 and 2 threads
    python bench/onnx_runtime.py --arch roberta-base --threads 2 --batch 32 --width 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput as tp  # noqa: E402  (the stand-in models' architectures and configs)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=sorted(tp.ARCHS), default="distilroberta-base")
    p.add_argument("--threads", default="1,2", help="Comma-separated thread counts (default 1,2).")
    p.add_argument("--batch", type=int, default=32, help="Sentences per call (the backend's default batch size).")
    p.add_argument("--width", type=int, default=40, help="Sub-tokens per sentence (a 30-word news sentence is ~40).")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def _best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        print("onnx_runtime: needs `pip install onnxruntime onnx onnxscript`", file=sys.stderr)
        return 2
    import numpy as np
    import torch
    from transformers import RobertaForMaskedLM

    torch.manual_seed(args.seed)
    layers, hidden = tp.ARCHS[args.arch][:2]
    config = tp.roberta_config(args.arch)

    class Encoder(torch.nn.Module):
        """``base_model(input_ids, attention_mask)[0]``, the call the backend makes."""

        def __init__(self, base):
            super().__init__()
            self.base = base

        def forward(self, ids, att):
            return self.base(input_ids=ids, attention_mask=att)[0]

    enc = Encoder(RobertaForMaskedLM(config).eval().base_model).eval()
    ids = torch.randint(5, tp.VOCAB_SIZE - 1, (args.batch, args.width))
    att = torch.ones_like(ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc8 = torch.ao.quantization.quantize_dynamic(enc, {torch.nn.Linear}, dtype=torch.qint8)

    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "encoder.onnx", Path(tmp) / "encoder-int8.onnx"
        t0 = time.perf_counter()
        dyn = {0: "batch", 1: "width"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(enc, (ids, att), str(fp32), input_names=["ids", "att"], output_names=["hidden"],
                              dynamic_axes={"ids": dyn, "att": dyn, "hidden": dyn}, opset_version=17, dynamo=False)
        export_s = time.perf_counter() - t0
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        feeds = {"ids": ids.numpy(), "att": att.numpy()}
        print(f"{args.arch} random ({layers} layers, hidden {hidden}); batch {args.batch} x {args.width} sub-tokens; "
              f"export {export_s:.1f} s; torch {torch.__version__}, onnxruntime {ort.__version__}")
        print()
        print("| threads | torch fp32 ms | torch int8 ms | ORT fp32 ms | ORT int8 ms | ORT fp32 / torch fp32 | ORT int8 / torch int8 | max abs diff ORT fp32 |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for threads in [int(t) for t in args.threads.split(",") if t.strip()]:
            torch.set_num_threads(threads)
            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            s32 = ort.InferenceSession(str(fp32), so, providers=["CPUExecutionProvider"])
            s8 = ort.InferenceSession(str(int8), so, providers=["CPUExecutionProvider"])
            with torch.inference_mode():
                ref = enc(ids, att).numpy()
                t_fp32 = _best(lambda: enc(ids, att), args.repeat)
                t_int8 = _best(lambda: enc8(ids, att), args.repeat)
            diff = float(np.abs(s32.run(None, feeds)[0] - ref).max())
            o_fp32 = _best(lambda: s32.run(None, feeds), args.repeat)
            o_int8 = _best(lambda: s8.run(None, feeds), args.repeat)
            print(f"| {threads} | {t_fp32 * 1e3:.0f} | {t_int8 * 1e3:.0f} | {o_fp32 * 1e3:.0f} | {o_int8 * 1e3:.0f} "
                  f"| {t_fp32 / o_fp32:.2f}x faster | {t_int8 / o_int8:.2f}x faster | {diff:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
