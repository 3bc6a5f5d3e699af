"""Threads of the numeric libraries when several processes share the machine's cores.

torch (the sentence encoder of the replaced-word detector) and the BLAS under numpy each start a
thread per core in every process that uses them. Processes that score side by side (``unspin
score --jobs N``, ``unspin serve --workers N``) then run N times as many threads as there are
cores, which costs CPU time and lengthens each document (see the README's *Limits*). Each such
process takes its share of the cores instead. A thread count the user set (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``) always wins; one process alone keeps the libraries'
defaults.
"""

from __future__ import annotations

import os

from service.causal_lm import available_cpus

#: the variables the libraries read their thread counts from when they start
ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def per_process(processes: int) -> int:
    """This machine's cores shared out among ``processes`` processes (one at least each)."""
    return max(1, available_cpus() // max(1, processes))


def user_set() -> bool:
    """Whether the user set a thread count of their own in the environment."""
    return any(os.environ.get(name) for name in ENV_VARS)


def limit(threads: int) -> None:
    """Run this process's torch and BLAS work on at most ``threads`` threads from now on, unless
    the user set a thread count of their own (then nothing changes)."""
    if user_set():
        return
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    torch.set_num_threads(threads)


def env_for(processes: int) -> dict[str, str]:
    """The thread counts for ``processes`` processes started afresh (they read them as they start),
    as environment variables: none when the user set one of their own."""
    return {} if user_set() else {name: str(per_process(processes)) for name in ENV_VARS}
