"""Processes that score side by side take their share of the cores (service/threads.py): torch and
the BLAS under numpy had each started a thread per core in every worker, so two workers on two
cores ran four threads each (the README's *Limits* has the measurement)."""

from __future__ import annotations

import os

import pytest

from service import threads


@pytest.fixture
def no_thread_settings(monkeypatch):
    """No thread count in the environment, and whatever the test sets there gone after it."""
    for name in threads.ENV_VARS:
        monkeypatch.setenv(name, "")  # recorded, so that a value set later is removed at the end
        monkeypatch.delenv(name)


def test_each_process_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    assert [threads.per_process(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_a_limited_process_runs_torch_and_blas_on_its_share_and_the_users_count_wins(no_thread_settings, monkeypatch):
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # BLAS's counts put back when the test ends
        try:
            threads.limit(1)
            assert torch.get_num_threads() == 1
            assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
            torch.set_num_threads(2)
            monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's own: left as it is
            threads.limit(1)
            assert torch.get_num_threads() == 2
        finally:
            torch.set_num_threads(before)


def test_serve_with_workers_hands_them_their_share(no_thread_settings, monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from service.cli import main

    seen = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.append({n: os.environ.get(n) for n in threads.ENV_VARS}))
    monkeypatch.setattr("service.cli._check_listen", lambda host, port: None)
    monkeypatch.setattr(threads, "available_cpus", lambda: 4)
    assert CliRunner().invoke(main, ["serve"]).exit_code == 0
    assert seen[-1] == dict.fromkeys(threads.ENV_VARS)  # one process: the libraries' own defaults
    assert CliRunner().invoke(main, ["serve", "--workers", "2"]).exit_code == 0
    assert seen[-1] == dict.fromkeys(threads.ENV_VARS, "2")
    for name in threads.ENV_VARS:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # the user's own count: nothing is set
    assert CliRunner().invoke(main, ["serve", "--workers", "2"]).exit_code == 0
    assert seen[-1] == {"OMP_NUM_THREADS": None, "OPENBLAS_NUM_THREADS": "3", "MKL_NUM_THREADS": None}

