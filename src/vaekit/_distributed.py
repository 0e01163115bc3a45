"""Which process this is when Lightning trains on several devices or nodes: rank and world size.

A low-level module (the standard library and torch only) so that every layer that must know the
process can ask it: the data loaders shard rows by rank, training sums the ranks' shares, and the
runs write their folder from rank 0 only.

Under distributed data parallel every process runs the same program: Lightning's launcher starts
the other ranks as copies of the command, and ``torchrun`` or SLURM start them all. Work before
and after training (reading data, building the model) therefore runs on each rank; only the
global rank 0 may touch the run folder.
"""

from __future__ import annotations

import os

#: Environment variables a launcher sets to a process's rank; any non-zero one means "not rank 0".
_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")


def is_global_zero() -> bool:
    """Whether this process is the global rank 0 (always true without a distributed launch).

    Read from the process group when one is running, else from the launcher's environment, so
    that it is right both before training starts and after it ends.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "0").strip() or "0"
        if value != "0":
            return False
    return True


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world size)`` of the running process group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
