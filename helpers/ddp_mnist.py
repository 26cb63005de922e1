"""Train a small MNIST classifier with DistributedDataParallel on the CPU (gloo backend).

Lesson 09 launches it with two processes on one machine, from the installed course package
(so it runs from any folder, in a clone of the course or on Colab)::

    python -m torch.distributed.run --nproc_per_node=2 --standalone -m helpers.ddp_mnist

``torchrun --nproc_per_node=2 --standalone -m helpers.ddp_mnist`` is the same command.
Each process (a *rank*) builds the same model, sees its own half of the bundled MNIST
training digits through a ``DistributedSampler``, and DDP averages the gradients of
all ranks after every backward pass, so every rank takes the same optimiser step.
At the end the ranks evaluate their halves of the test set, rank 0 prints the
accuracy, and a check confirms that every rank holds exactly the same weights.

It writes nothing (the bundled data cache under ``data/`` is created by the helpers
if it is missing). ``--fail-rank N`` makes rank N raise on purpose, to show that a
failing rank ends the whole run with a non-zero exit status instead of a hang.

Introduced in lesson 09.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from helpers.data import load_mnist

BACKEND = "gloo"  # the CPU backend; "nccl" is the one for NVIDIA GPUs
TIMEOUT = datetime.timedelta(seconds=60)  # a collective waiting longer than this fails


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per rank per step")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the model and the sampler")
    parser.add_argument(
        "--fail-rank", type=int, default=None, help="make this rank raise after its first epoch (testing)"
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        parser.error("--epochs and --batch-size must be positive integers and --lr a positive number")
    return args


def mnist_tensors(train: bool) -> TensorDataset:
    """Return the bundled MNIST split as a TensorDataset of (N, 784) floats in [0, 1] and (N,) labels."""
    dataset = load_mnist(train=train)  # the data cache of helpers.data_dir("bundled")
    X = dataset.data.float().div(255).flatten(1)  # (N, 784)
    return TensorDataset(X, dataset.targets)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def print_in_rank_order(rank: int, world_size: int, message: str) -> None:
    """Let every rank print one line, rank 0 first, so the output reads the same on every run."""
    for turn in range(world_size):
        if turn == rank:
            print(message, flush=True)
        dist.barrier()


def train(args: argparse.Namespace, rank: int, world_size: int) -> None:
    torch.manual_seed(args.seed)  # same start on every rank (DDP also broadcasts rank 0's weights)
    train_set, test_set = mnist_tensors(train=True), mnist_tensors(train=False)

    # Each rank gets a different, equally long slice of a shuffled index list.
    sampler = DistributedSampler(train_set, num_replicas=world_size, rank=rank, shuffle=True, seed=args.seed)
    sampler.set_epoch(0)
    indices = list(sampler)
    share = f"[rank {rank}] {len(indices)} of {len(train_set)} training samples, first indices {indices[:5]}"
    print_in_rank_order(rank, world_size, share)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=0)

    model = DDP(make_model())  # on the CPU: no device_ids
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same one on every rank
        total, count = 0.0, 0
        for X, y in train_loader:
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            optimizer.step()
            total += loss.item() * len(X)
            count += len(X)
        if args.fail_rank == rank:
            raise RuntimeError(f"--fail-rank {rank} asked this rank to fail after epoch {epoch + 1}")
        mean_loss = torch.tensor([total / count])
        dist.all_reduce(mean_loss)  # sum over ranks
        if rank == 0:
            print(f"epoch {epoch + 1}: mean train loss {mean_loss.item() / world_size:.4f}", flush=True)
    seconds = time.perf_counter() - start

    # Evaluate: each rank scores its share of the test set, then the counts are summed.
    # (When the size does not divide by the world size, the sampler repeats a few
    # examples so that every rank gets the same number; 1,000 / 2 divides evenly.)
    test_sampler = DistributedSampler(test_set, num_replicas=world_size, rank=rank, shuffle=False)
    test_loader = DataLoader(test_set, batch_size=500, sampler=test_sampler, num_workers=0)
    model.eval()
    counts = torch.zeros(2)
    with torch.no_grad():
        for X, y in test_loader:
            counts += torch.tensor([(model(X).argmax(dim=1) == y).sum().item(), len(y)])
    dist.all_reduce(counts)
    if rank == 0:
        accuracy = counts[0].item() / counts[1].item()
        print(f"test accuracy: {accuracy:.3f} ({int(counts[1].item())} test images, "
              f"{args.epochs} epochs in {seconds:.1f} s)", flush=True)

    # Every rank should hold identical weights: compare the element-wise max and min.
    flat = torch.cat([p.detach().flatten() for p in model.module.parameters()])
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    checksums = [None] * world_size
    dist.all_gather_object(checksums, round(flat.double().sum().item(), 6))
    if rank == 0:
        print(f"parameter checksum per rank: {checksums}", flush=True)
        print(f"ranks agree: {bool(torch.equal(high, low))}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        print(
            "ddp_mnist.py: RANK and WORLD_SIZE are not set. Start it with torchrun, e.g. "
            f"{sys.executable} -m torch.distributed.run --nproc_per_node=2 --standalone {__file__}",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(1)  # one core per process: 2 ranks on a 2-core machine
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    if args.fail_rank is not None and not 0 <= args.fail_rank < world_size:
        print(f"ddp_mnist.py: --fail-rank must be in 0..{world_size - 1}, got {args.fail_rank}", file=sys.stderr)
        return 2
    try:
        dist.init_process_group(BACKEND, rank=rank, world_size=world_size, timeout=TIMEOUT)
        if rank == 0:
            print(f"backend {dist.get_backend()}, world size {world_size}", flush=True)
        train(args, rank, world_size)
        dist.barrier()  # nobody leaves while another rank still needs it
        return 0
    except Exception as err:  # report clearly, then let the launcher end the other ranks
        print(f"ddp_mnist.py: rank {rank} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
