"""The one device resolver: cpu, auto, and a one-line ParamError for an absent CUDA."""

import pytest
import torch

from imbcl.core.errors import ParamError
from imbcl.core.runtime import resolve_device


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("cpu", local_rank=3) == torch.device("cpu")
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == torch.device(expected)


def test_absent_cuda_is_a_param_error_naming_the_key(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParamError) as err:
        resolve_device("cuda", key="real.device")
    message = str(err.value)
    assert message.startswith("real.device = cuda: expected cpu or auto; ")
    assert "\n" not in message
    assert resolve_device("auto", key="real.device") == torch.device("cpu")


def test_cuda_takes_the_local_rank(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda:1")
    assert resolve_device("auto") == torch.device("cuda:0")
