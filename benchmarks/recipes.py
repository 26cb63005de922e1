"""Section 3: the course's MNIST recipes against classic tutorial recipes, on one time budget.

Four recipes, all on the bundled MNIST split (``helpers.load_mnist``: 4,000 training and
1,000 test digits, held in memory as tensors), all started from the same seed and all
trained by the same loop (``helpers.training.train_one_epoch``), with PyTorch on one
thread as in the lessons:

* **course MLP** (lesson 04): 784-512-10 with dropout 0.5, Adam lr 2e-3, batch 64, 5 epochs,
  inputs normalised with the training set's mean and standard deviation;
* **course CNN** (lesson 06): ``helpers.SmallCNN``, Adam lr 1e-3 with cosine decay over
  6 epochs, batch 64, same normalisation;
* **classic MLP** (the well-known introductory tutorial): 784-128-64-10, plain SGD
  lr 0.003, batch 64, inputs normalised with mean 0.5 and std 0.5;
* **classic LeNet** (the well-known CIFAR-10 tutorial network, adapted to one 28 x 28
  channel): conv 6 and 16 filters of 5 x 5, max-pooling, 120-84-10, SGD lr 0.001 with
  momentum 0.9, batch 4, mean 0.5 and std 0.5.

Every recipe gets the same wall-clock budget for training. The clock is checked
before each batch; a recipe stops when the budget is spent or when its own plan is
finished (the course recipes have a fixed number of epochs; the classic ones keep
going until the budget is spent, which can only help them). Test accuracy is
measured once, after training, outside the budget. Before the timed runs each recipe
trains once, untimed, for up to one second, so that no recipe pays for first-call costs
(memory allocation, lazy initialisation) inside its budget.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.stats import median, ratio

__all__ = [
    "Recipe",
    "RecipeRun",
    "RecipeResult",
    "RECIPES",
    "PAIRS",
    "load_mnist_tensors",
    "Budget",
    "train_with_budget",
    "run_recipes",
    "single_thread",
]


class single_thread:  # noqa: N801 - used like a function: ``with single_thread():``
    """Context manager: run PyTorch on ``threads`` threads (one, as the lessons do), then restore."""

    def __init__(self, threads: int = 1) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, got {threads!r}")
        self.threads = threads

    def __enter__(self) -> single_thread:
        self._saved = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc_info) -> None:
        torch.set_num_threads(self._saved)


def load_mnist_tensors() -> dict[str, torch.Tensor]:
    """Return the bundled MNIST split as float images in [0, 1] (N, 1, 28, 28) and int64 labels (N,)."""
    from helpers import load_mnist

    train, test = load_mnist(train=True), load_mnist(train=False)
    return {
        "x_train": (train.data.float() / 255).unsqueeze(1),
        "y_train": train.targets.clone(),
        "x_test": (test.data.float() / 255).unsqueeze(1),
        "y_test": test.targets.clone(),
    }


def _course_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))


def _course_cnn() -> nn.Module:
    from helpers import SmallCNN

    return SmallCNN()  # the defaults are lesson 06's network


def _classic_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )


class LeNet(nn.Module):
    """The classic tutorial CNN for one 28 x 28 channel: (B, 1, 28, 28) -> (B, 10) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)  # (B, 6, 24, 24)
        self.pool = nn.MaxPool2d(2, 2)  # halves the size
        self.conv2 = nn.Conv2d(6, 16, 5)  # (B, 16, 8, 8) after the first pooling
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))  # (B, 6, 12, 12)
        x = self.pool(torch.relu(self.conv2(x)))  # (B, 16, 4, 4)
        x = torch.flatten(x, 1)  # (B, 256)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


@dataclass(frozen=True)
class Recipe:
    """How to train one model: architecture, optimizer, batch size, plan and input normalisation."""

    name: str
    origin: str
    summary: str
    build: Callable[[], nn.Module]
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
    batch_size: int
    epochs: int | None  # None: keep training until the budget is spent
    normalise: str  # "dataset": the training set's mean and std; "half": mean 0.5, std 0.5
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "course MLP", "lesson 04", "784-512-10, dropout 0.5, Adam lr 2e-3, batch 64, 5 epochs",
        _course_mlp, lambda p: torch.optim.Adam(p, lr=2e-3), 64, 5, "dataset",
    ),
    Recipe(
        "course CNN", "lesson 06", "SmallCNN, Adam lr 1e-3 + cosine decay, batch 64, 6 epochs",
        _course_cnn, lambda p: torch.optim.Adam(p, lr=1e-3), 64, 6, "dataset",
        scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6),
    ),
    Recipe(
        "classic MLP", "introductory tutorial", "784-128-64-10, SGD lr 0.003, batch 64, until the budget",
        _classic_mlp, lambda p: torch.optim.SGD(p, lr=0.003), 64, None, "half",
    ),
    Recipe(
        "classic LeNet", "CIFAR-10 tutorial network", "conv 6/16 5x5 + pool, 120-84-10, SGD lr 0.001 "
        "momentum 0.9, batch 4, until the budget",
        LeNet, lambda p: torch.optim.SGD(p, lr=0.001, momentum=0.9), 4, None, "half",
    ),
)

# (course recipe, classic recipe) compared in the ratio table
PAIRS: tuple[tuple[str, str], ...] = (("course MLP", "classic MLP"), ("course CNN", "classic LeNet"))


class Budget:
    """A wall-clock allowance: ``spent()`` turns True once ``seconds`` have passed since ``start()``."""

    def __init__(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise ValueError(f"the time budget must be a positive number of seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self._deadline: float | None = None

    def start(self) -> None:
        self._deadline = time.perf_counter() + self.seconds

    def spent(self) -> bool:
        if self._deadline is None:
            raise ValueError("call start() before asking whether the budget is spent")
        return time.perf_counter() >= self._deadline

    def batches(self, loader: Iterable, counter: list[int]) -> Iterator:
        """Yield ``loader``'s batches until the budget is spent; count them in ``counter[0]``."""
        for batch in loader:
            if self.spent():
                return
            counter[0] += 1
            yield batch


@dataclass
class RecipeRun:
    """One budgeted training run."""

    accuracy: float
    train_s: float
    epochs: float  # completed epochs, fractional when the budget ended one part-way
    batches: int
    stopped_by: str  # "budget" or "plan"


@dataclass
class RecipeResult:
    """All runs of one recipe, and their medians."""

    recipe: Recipe
    runs: list[RecipeRun] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return median([r.accuracy for r in self.runs], f"{self.recipe.name} accuracies")

    @property
    def train_s(self) -> float:
        return median([r.train_s for r in self.runs], f"{self.recipe.name} training times")

    @property
    def epochs(self) -> float:
        return median([r.epochs for r in self.runs], f"{self.recipe.name} epochs")

    @property
    def stopped_by(self) -> str:
        reasons = sorted({r.stopped_by for r in self.runs})
        return " / ".join(reasons)


def _normalised(data: dict[str, torch.Tensor], how: str) -> tuple[torch.Tensor, torch.Tensor]:
    if how == "dataset":
        mean, std = data["x_train"].mean(), data["x_train"].std()
    elif how == "half":
        mean, std = torch.tensor(0.5), torch.tensor(0.5)
    else:
        raise ValueError(f"normalise must be 'dataset' or 'half', got {how!r}")
    return (data["x_train"] - mean) / std, (data["x_test"] - mean) / std


def train_with_budget(recipe: Recipe, data: dict[str, torch.Tensor], budget_s: float, seed: int = 0) -> RecipeRun:
    """Train ``recipe`` from ``seed`` for at most ``budget_s`` seconds; return its test accuracy and time."""
    from helpers import seed_everything
    from helpers.training import evaluate, train_one_epoch

    budget = Budget(budget_s)
    x_train, x_test = _normalised(data, recipe.normalise)
    seed_everything(seed)
    model = recipe.build()
    optimizer = recipe.optimizer(model.parameters())
    scheduler = recipe.scheduler(optimizer) if recipe.scheduler else None
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        TensorDataset(x_train, data["y_train"]), batch_size=recipe.batch_size, shuffle=True,
        generator=generator, num_workers=0,
    )
    test_loader = DataLoader(TensorDataset(x_test, data["y_test"]), batch_size=500, num_workers=0)
    counter = [0]
    epochs = itertools.count(1) if recipe.epochs is None else range(1, recipe.epochs + 1)
    stopped_by = "plan"
    start = time.perf_counter()
    budget.start()
    for _ in epochs:
        if budget.spent():
            stopped_by = "budget"
            break
        before = counter[0]
        try:
            train_one_epoch(model, budget.batches(train_loader, counter), loss_fn, optimizer)
        except ValueError:
            if counter[0] > before:
                raise
            stopped_by = "budget"  # the budget ran out just before the epoch's first batch
            break
        if counter[0] - before < len(train_loader):  # the budget ran out part-way through the epoch
            stopped_by = "budget"
            break
        if scheduler is not None:
            scheduler.step()
    train_s = time.perf_counter() - start
    _, accuracy = evaluate(model, test_loader, loss_fn)
    return RecipeRun(
        accuracy=accuracy,
        train_s=train_s,
        epochs=counter[0] / len(train_loader),
        batches=counter[0],
        stopped_by=stopped_by,
    )


def run_recipes(
    budget_s: float, runs: int = 3, seed: int = 0, recipes: tuple[Recipe, ...] = RECIPES, log=print
) -> list[RecipeResult]:
    """Train every recipe ``runs`` times (same seed each time) on one thread; return the results."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    Budget(budget_s)  # checks the value before any work
    data = load_mnist_tensors()
    results = {recipe.name: RecipeResult(recipe) for recipe in recipes}
    with single_thread():
        for recipe in recipes:  # untimed warm-up: first calls allocate memory and fill caches
            train_with_budget(recipe, data, min(budget_s, 1.0), seed)
        for round_ in range(1, runs + 1):
            for recipe in recipes:
                run = train_with_budget(recipe, data, budget_s, seed)
                results[recipe.name].runs.append(run)
                log(f"  [{round_}/{runs}] {recipe.name}: accuracy {run.accuracy:.3f} after "
                    f"{run.train_s:.1f} s ({run.epochs:.2f} epochs, stopped by {run.stopped_by})")
    return list(results.values())


def pair_ratios(results: list[RecipeResult]) -> list[dict[str, float | str]]:
    """Return, for each (course, classic) pair, the accuracy, error and time ratios course / classic."""
    by_name = {r.recipe.name: r for r in results}
    rows = []
    for course, classic in PAIRS:
        if course not in by_name or classic not in by_name:
            continue
        a, b = by_name[course], by_name[classic]
        rows.append({
            "course": course,
            "classic": classic,
            "accuracy_ratio": ratio(a.accuracy, b.accuracy, f"{course} / {classic} accuracy"),
            "error_ratio": ratio(1 - a.accuracy, 1 - b.accuracy, f"{course} / {classic} test error")
            if b.accuracy < 1 else float("nan"),
            "time_ratio": ratio(a.train_s, b.train_s, f"{course} / {classic} training time"),
        })
    return rows
