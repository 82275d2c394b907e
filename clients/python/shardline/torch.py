"""PyTorch adapters (import only where torch is installed; the core never imports torch).

``ShardlineIterableDataset`` is :class:`shardline.data.ShardlineDataset` as a
``torch.utils.data.IterableDataset``: DataLoader workers split the rank's share without
overlap. ``ShardlineDataLoader`` is a DataLoader that counts the samples the training loop has
received, so its ``state_dict()`` resumes exactly, whatever the workers prefetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset

from .data import ShardlineDataset


class ShardlineIterableDataset(ShardlineDataset, IterableDataset):
    """A :class:`ShardlineDataset` that PyTorch recognises as an ``IterableDataset``."""


def _batch_len(batch: Any) -> int:
    """Samples in a collated batch: dicts of columns, tensors, or lists of either."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, Mapping):
        return _batch_len(next(iter(batch.values()))) if batch else 0
    if isinstance(batch, (list, tuple)):
        return len(batch)
    return 1


class ShardlineDataLoader(DataLoader):
    """A DataLoader over a :class:`ShardlineIterableDataset` with exact ``state_dict()``.

    It tells the dataset its worker count and batch size (the order workers' batches arrive in
    is part of each rank's stream) and counts what it hands to the training loop. Persistent
    workers and the DataLoader's own ``drop_last`` are refused: the first would keep a stale
    epoch in the workers, the second would drop a partial batch in every worker (use the
    dataset's ``drop_last``).
    """

    def __init__(self, dataset: ShardlineDataset, *args: Any, **kwargs: Any) -> None:
        if not isinstance(dataset, ShardlineDataset):
            raise TypeError("ShardlineDataLoader reads a ShardlineIterableDataset")
        if kwargs.get("persistent_workers"):
            raise ValueError("persistent_workers would keep an old epoch and resume point in the workers; leave it off")
        if kwargs.get("drop_last"):
            raise ValueError("DataLoader drop_last drops a partial batch in every worker; use ShardlineDataset(drop_last=True)")
        super().__init__(dataset, *args, **kwargs)
        self._samples = 0

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        dataset: ShardlineDataset = self.dataset  # type: ignore[assignment]
        dataset.configure_loader(self.num_workers, self.batch_size or 1)
        dataset._start_pass()
        self._samples = 0
        unbatched = self.batch_size is None
        for batch in super().__iter__():
            self._samples += 1 if unbatched else _batch_len(batch)
            yield batch
        dataset._finish_pass()

    def state_dict(self) -> Dict[str, Any]:
        """The dataset's resume point after the samples this loader has yielded."""
        dataset: ShardlineDataset = self.dataset  # type: ignore[assignment]
        return dataset.state_dict(num_samples=self._samples)

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        dataset: ShardlineDataset = self.dataset  # type: ignore[assignment]
        dataset.load_state_dict(state)
