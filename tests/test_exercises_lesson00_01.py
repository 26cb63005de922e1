import numpy as np
import pytest
import torch

from helpers.checks import CheckFailed
from helpers.exercises import lesson00, lesson01


def test_seeded_draw_answer(lenient):
    def answer(seed):
        torch.manual_seed(seed)
        return torch.rand(3)

    assert lesson00.check_seeded_draw(answer) is True


@pytest.mark.parametrize(
    "fn,hint",
    [
        (lambda seed: None, "not done yet"),
        (lambda seed: torch.rand(3), "same seed gave different"),
        (lambda seed: (torch.manual_seed(0), torch.rand(3))[1], "different seeds gave the same"),
        (lambda seed: (torch.manual_seed(seed), torch.rand(4))[1], "shape (3,)"),
        (lambda seed: (torch.manual_seed(seed), torch.rand(1), torch.rand(3))[2], "draw nothing else"),
    ],
)
def test_seeded_draw_wrong_answers(lenient, capsys, fn, hint):
    assert lesson00.check_seeded_draw(fn) is False
    assert hint in capsys.readouterr().out


def _batch_first(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def test_to_batch_first_answers(lenient):
    assert lesson01.check_to_batch_first(_batch_first) is True
    # written differently, still right
    assert lesson01.check_to_batch_first(lambda a: torch.tensor(np.transpose(a, (0, 3, 1, 2)), dtype=torch.float32).div(255.0))


@pytest.mark.parametrize(
    "fn,hint",
    [
        (None, "not done yet"),
        (lambda a: None, "not done yet"),
        (lambda a: torch.from_numpy(a).float() / 255, "not reordered"),
        (lambda a: torch.from_numpy(a).reshape(a.shape[0], a.shape[3], a.shape[1], a.shape[2]).float() / 255, "scrambled"),
        (lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float(), "divide by 255"),
        (lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).double() / 255, "float32"),
        (lambda a: a.transpose(0, 3, 1, 2) / 255, "torch.Tensor"),
    ],
)
def test_to_batch_first_wrong_answers(lenient, capsys, fn, hint):
    assert lesson01.check_to_batch_first(fn) is False
    assert hint in capsys.readouterr().out


def test_pairwise_distances(lenient, capsys):
    assert lesson01.check_pairwise_distances(lambda P, Q: (P[:, None] - Q[None]).norm(dim=2))
    wrong = {
        "squared": lambda P, Q: ((P[:, None] - Q[None]) ** 2).sum(-1),
        "(N, M)": lambda P, Q: (P[:, None] - Q[None]) ** 2,
        "raised": lambda P, Q: ((P - Q) ** 2).sum(-1).sqrt(),
        "not done": lambda P, Q: None,
    }
    for hint, fn in wrong.items():
        assert lesson01.check_pairwise_distances(fn) is False
        assert hint in capsys.readouterr().out


def test_lesson01_strict_mode(strict):
    with pytest.raises(CheckFailed):
        lesson01.check_pairwise_distances(lambda P, Q: None)


def _label_probs(probs, y):
    return probs[torch.arange(len(y)), y]


def test_label_probs_answers(lenient):
    assert lesson01.check_label_probs(_label_probs) is True
    # written differently, still right
    assert lesson01.check_label_probs(lambda p, y: p.gather(1, y.unsqueeze(1)).squeeze(1)) is True
    assert lesson01.check_label_probs(lambda p, y: (p * torch.nn.functional.one_hot(y, p.shape[1])).sum(1)) is True


@pytest.mark.parametrize(
    "fn,hint",
    [
        (None, "not done yet"),
        (lambda p, y: None, "not done yet"),
        (lambda p, y: p[:, y], "pairs every row with every label"),
        (lambda p, y: p.gather(1, y.unsqueeze(1)), "squeeze(1)"),
        (lambda p, y: p[y, torch.arange(len(y))], "swapped"),  # transposed index
        (lambda p, y: p.gather(0, y.unsqueeze(1)).squeeze(1), "swapped"),  # wrong dim
        (lambda p, y: p.gather(0, y.unsqueeze(0)).squeeze(0), "swapped"),
        (lambda p, y: p[torch.arange(len(y)), y.float()], "must be integers"),  # float index
        (lambda p, y: p.gather(1, y.float().unsqueeze(1)).squeeze(1), "must be integers"),
        (lambda p, y: p.gather(1, y), "as many dimensions as probs"),
        (lambda p, y: p[torch.arange(len(y)), y - 1], "off by one"),
        (lambda p, y: p[torch.arange(len(y)), y + 1], "ran past the end"),
        (lambda p, y: p.max(dim=1).values, "largest probability"),
        (lambda p, y: p[torch.arange(len(y)), y].tolist(), "return a tensor"),
        (lambda p, y: p[torch.arange(len(y)), y] * 2, "differ from probs[i, y[i]]"),
        (lambda p, y: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_label_probs_wrong_answers(lenient, capsys, fn, hint):
    assert lesson01.check_label_probs(fn) is False
    assert hint in capsys.readouterr().out


def test_label_probs_leaves_inputs_alone(lenient):
    def modifies(p, y):
        out = p[torch.arange(len(y)), y].clone()
        p.zero_()  # vandalising the input must not change what the check compares with
        return out

    assert lesson01.check_label_probs(modifies) is True


def test_label_probs_strict_mode(strict):
    with pytest.raises(CheckFailed):
        lesson01.check_label_probs(lambda p, y: p[:, y])


# ------------------------------------------------------------------ issue 18: dtype, device, forgotten return
def test_lesson01_float64_answers_get_a_dtype_hint_not_a_traceback(lenient, capsys):
    import torch

    from helpers.exercises.lesson01 import check_label_probs, check_pairwise_distances

    assert check_pairwise_distances(lambda P, Q: torch.cdist(P.double(), Q.double())) is False
    out = capsys.readouterr().out
    assert "float64; the reference is float32" in out and "values are right" in out
    assert check_label_probs(lambda probs, y: probs.double()[torch.arange(len(y)), y]) is False
    assert "float64; the reference is float32" in capsys.readouterr().out
    assert check_pairwise_distances(lambda P, Q: torch.empty(len(P), len(Q), device="meta")) is False
    assert "meta" in capsys.readouterr().out


def test_lesson01_forgotten_return_is_not_called_not_done(lenient, capsys):
    from helpers.exercises.lesson01 import check_to_batch_first

    def to_batch_first(images):
        batch = images.transpose(0, 3, 1, 2)  # noqa: F841 - the classic mistake: no return

    assert check_to_batch_first(to_batch_first) is False
    out = capsys.readouterr().out
    assert "did you forget `return`?" in out and "not done yet" not in out

    def stub(images):
        """The untouched stub."""
        pass

    assert check_to_batch_first(stub) is False
    assert "not done yet" in capsys.readouterr().out
