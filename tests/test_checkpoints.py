"""Tests for helpers.checkpoints: round trips, other architectures, and files that must never be executed."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from torch import nn

from helpers.checkpoints import (
    CHECKPOINT_KEYS,
    compare_state_dicts,
    load_checkpoint,
    save_checkpoint,
)


def make_mlp(hidden=8, depth=1, num_classes=3):
    layers = []
    width = 4
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def make_bn_net(channels=4):
    return nn.Sequential(nn.Linear(4, channels), nn.BatchNorm1d(channels), nn.Linear(channels, 2))


HPARAMS = {"hidden": 8, "depth": 2}
X = torch.randn(6, 4)


def _trained(hparams=HPARAMS, steps=3):
    torch.manual_seed(0)
    model = make_mlp(**hparams)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        loss = model(X).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, optimizer


# ---------------------------------------------------------------- round trips


def test_round_trip_rebuilds_the_model_and_its_optimizer(tmp_path):
    model, optimizer = _trained()
    path = save_checkpoint(tmp_path / "ckpt.pt", model, HPARAMS, optimizer, epoch=7, extra={"acc": 0.5})
    assert path == tmp_path / "ckpt.pt" and path.is_file()
    new_model, new_optimizer, checkpoint = load_checkpoint(path, make_mlp, lambda p: torch.optim.Adam(p, lr=0.01))
    assert new_model is not model
    assert set(checkpoint) == set(CHECKPOINT_KEYS)
    assert checkpoint["hparams"] == HPARAMS and checkpoint["epoch"] == 7 and checkpoint["extra"] == {"acc": 0.5}
    with torch.no_grad():
        assert torch.equal(new_model(X), model(X))
    old_state, new_state = optimizer.state_dict(), new_optimizer.state_dict()
    assert new_state["state"][0]["step"].item() == 3
    for key in ("exp_avg", "exp_avg_sq"):
        assert torch.equal(old_state["state"][0][key], new_state["state"][0][key])
    # the restored optimizer updates the *new* model's parameters
    assert new_optimizer.param_groups[0]["params"][0] is next(new_model.parameters())


def test_resumed_training_matches_uninterrupted_training(tmp_path):
    model, optimizer = _trained(steps=2)
    save_checkpoint(tmp_path / "mid.pt", model, HPARAMS, optimizer)
    resumed, resumed_opt, _ = load_checkpoint(tmp_path / "mid.pt", make_mlp, lambda p: torch.optim.Adam(p, lr=0.01))
    for m, opt in [(model, optimizer), (resumed, resumed_opt)]:
        loss = m(X).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for a, b in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.allclose(a, b)


def test_without_optimizer_the_optimizer_is_none(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    new_model, optimizer, checkpoint = load_checkpoint(tmp_path / "c.pt", make_mlp)
    assert optimizer is None and checkpoint["optimizer_state"] is None and checkpoint["epoch"] is None
    assert checkpoint["extra"] == {}


def test_buffers_travel_with_the_weights(tmp_path):
    torch.manual_seed(0)
    model = make_bn_net()
    model(torch.randn(16, 4) * 3 + 1)  # updates BatchNorm's running statistics
    save_checkpoint(tmp_path / "bn.pt", model, {"channels": 4})
    new_model, _, _ = load_checkpoint(tmp_path / "bn.pt", make_bn_net)
    assert torch.equal(new_model[1].running_mean, model[1].running_mean)
    assert new_model[1].num_batches_tracked.item() == 1


def test_save_creates_folders_and_overwrites(tmp_path):
    model, _ = _trained()
    path = tmp_path / "a" / "b" / "ckpt.pt"
    save_checkpoint(path, model, HPARAMS, epoch=1)
    save_checkpoint(str(path), model, HPARAMS, epoch=2)  # a str path works too
    assert load_checkpoint(path, make_mlp)[2]["epoch"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"], "no temporary files left behind"


def test_the_file_loads_with_plain_torch_load_weights_only(tmp_path):
    model, optimizer = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS, optimizer, extra={"classes": ["a", "b"], "t": torch.ones(2)})
    checkpoint = torch.load(tmp_path / "c.pt", weights_only=True)
    assert checkpoint["extra"]["classes"] == ["a", "b"]


# ---------------------------------------------------------------- another architecture


def test_other_architecture_names_missing_keys_and_shapes(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    with pytest.raises(ValueError) as info:
        load_checkpoint(tmp_path / "c.pt", lambda hidden, depth: make_mlp(hidden * 2, depth + 1))
    message = str(info.value)
    assert "another architecture" in message
    assert "missing keys" in message and "'6.weight'" in message
    assert "shape of '0.weight': model (16, 4), file (8, 4)" in message


def test_other_architecture_names_unexpected_keys(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    with pytest.raises(ValueError, match=r"unexpected keys .*'4.weight'"):
        load_checkpoint(tmp_path / "c.pt", lambda hidden, depth: make_mlp(hidden, depth - 1))


def test_builder_that_does_not_accept_the_hparams(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    with pytest.raises(ValueError, match="could not be called with the saved hparams"):
        load_checkpoint(tmp_path / "c.pt", lambda width: make_mlp(width))


def test_builder_must_return_a_module(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    with pytest.raises(ValueError, match="must return an nn.Module"):
        load_checkpoint(tmp_path / "c.pt", lambda **hp: "model")
    with pytest.raises(ValueError, match="build_model must be a function"):
        load_checkpoint(tmp_path / "c.pt", "make_mlp")


def test_optimizer_requested_but_not_saved(tmp_path):
    model, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(tmp_path / "c.pt", make_mlp, lambda p: torch.optim.Adam(p))


def test_optimizer_of_another_shape(tmp_path):
    model, optimizer = _trained()
    save_checkpoint(tmp_path / "c.pt", model, HPARAMS, optimizer)
    with pytest.raises(ValueError, match="does not fit the optimizer"):
        load_checkpoint(tmp_path / "c.pt", make_mlp, lambda p: torch.optim.Adam(list(p)[:2]))
    with pytest.raises(ValueError, match="must return a torch.optim.Optimizer"):
        load_checkpoint(tmp_path / "c.pt", make_mlp, lambda p: "adam")


def test_compare_state_dicts():
    a = make_mlp(8, 1).state_dict()
    b = make_mlp(6, 2).state_dict()
    assert compare_state_dicts(a, a) == []
    problems = compare_state_dicts(a, b)
    assert any("unexpected keys" in p for p in problems)
    assert any("shape of '0.weight'" in p for p in problems)


# ---------------------------------------------------------------- files that are not checkpoints


class _Payload:
    """Unpickling this object would create ``target``: proof that the file's code ran."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


class _SystemPayload:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("payload_class", [_Payload, _SystemPayload])
def test_a_malicious_torch_file_is_refused_and_never_executed(tmp_path, payload_class):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"hparams": {}, "model_state": payload_class(marker)}, path)
    assert not marker.exists()
    with pytest.raises(ValueError, match="nothing in it was executed") as info:
        load_checkpoint(path, make_mlp)
    assert "weights_only=True" in str(info.value) and "GLOBAL" in str(info.value)
    assert not marker.exists(), "the payload ran: the file must never be unpickled unsafely"


def test_a_malicious_plain_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as fh:
        pickle.dump(_Payload(marker), fh)
    with pytest.raises(ValueError, match="could not be read as a checkpoint"):
        load_checkpoint(path, make_mlp)
    assert not marker.exists()


def test_a_pickled_whole_model_is_refused(tmp_path):
    model, _ = _trained()
    path = tmp_path / "whole.pt"
    torch.save({"hparams": HPARAMS, "model_state": model}, path)  # the module object, not its state_dict
    with pytest.raises(ValueError, match="pickled Python objects"):
        load_checkpoint(path, make_mlp)


def test_a_truncated_file_is_refused(tmp_path):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(path, make_mlp)


def test_a_corrupted_file_is_refused(tmp_path):
    model, _ = _trained()
    path = save_checkpoint(tmp_path / "c.pt", model, HPARAMS)
    data = bytearray(path.read_bytes())
    data[: len(data) // 3] = b"\x00" * (len(data) // 3)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="could not be read"):
        load_checkpoint(path, make_mlp)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file", b"\x80\x04K\x05."])
def test_files_that_are_not_pytorch_files(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="could not be read as a checkpoint"):
        load_checkpoint(path, make_mlp)


def test_a_bare_state_dict_gets_advice(tmp_path):
    model, _ = _trained()
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ValueError, match="bare state_dict.*load_state_dict"):
        load_checkpoint(tmp_path / "sd.pt", make_mlp)


@pytest.mark.parametrize("content", [torch.ones(3), [1, 2, 3], {"weights": torch.ones(2), "hparams": {}}])
def test_other_pytorch_files_are_not_checkpoints(tmp_path, content):
    torch.save(content, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="is not a checkpoint"):
        load_checkpoint(tmp_path / "x.pt", make_mlp)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", make_mlp)
    with pytest.raises(ValueError, match="is a folder"):
        load_checkpoint(tmp_path, make_mlp)


# ---------------------------------------------------------------- bad input to save_checkpoint


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "model"}, "model must be an nn.Module"),
        ({"hparams": [8, 2]}, "hparams must be a dict"),
        ({"hparams": {1: 8}}, "keys must be argument names"),
        ({"hparams": {"act": nn.ReLU}}, "weights_only=True\\) refuses"),
        ({"hparams": {"sizes": [8, nn.ReLU()]}}, "hparams\\['sizes'\\]\\[1\\]"),
        ({"optimizer": "adam"}, "optimizer must be a torch.optim.Optimizer"),
        ({"epoch": 1.5}, "epoch must be an int"),
        ({"extra": [1]}, "extra must be a dict"),
        ({"extra": {"fn": print}}, "extra\\['fn'\\]"),
    ],
)
def test_save_checkpoint_bad_input(tmp_path, kwargs, message):
    model, _ = _trained()
    args = {"model": model, "hparams": HPARAMS, **kwargs}
    with pytest.raises(ValueError, match=message):
        save_checkpoint(tmp_path / "c.pt", **args)
    assert not (tmp_path / "c.pt").exists()


def test_save_checkpoint_to_a_folder_is_refused(tmp_path):
    model, _ = _trained()
    with pytest.raises(ValueError, match="is a folder"):
        save_checkpoint(tmp_path, model, HPARAMS)
