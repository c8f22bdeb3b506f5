"""Sampling tests run on tiny tensors: one intra-op thread is fastest for them.

With several threads, every tiny op pays thread-pool hand-offs (tens of ms per step on a busy
machine); the previous setting is restored after each test.
"""
import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
