"""Batches that mix the sources of a ``ConcatDataset`` in a fixed ratio, epoch by epoch.

MMDetection's ``MultiSourceSampler`` / ``GroupMultiSourceSampler`` never end (they are for iteration-based
semi-supervised schedules); an epoch-based run with them never reaches its first epoch's end. Here an epoch
is one pass over the first source (the labeled images): each batch takes ``n_k`` images from source ``k``
(the batch split by ``source_ratio``), the other sources are drawn without replacement and reshuffled when
they run out. The order depends only on ``seed`` and the epoch, so a resumed run sees the batches the
uninterrupted run would have seen; with several processes each takes every ``world_size``-th batch.
"""
import math
import numbers
from typing import Iterator, List, Sequence

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import BatchSampler, Sampler

from mmdet.registry import DATA_SAMPLERS


def split_batch(batch_size: int, source_ratio: Sequence[float]) -> List[int]:
    """Images per batch from each source: ``batch_size`` split by ``source_ratio`` (largest remainders), every
    source with a positive ratio getting at least one.

    Raises:
        ValueError: If the ratio is not finite positive numbers, ``batch_size`` not a positive integer, or
            ``batch_size`` cannot hold one of each.
    """
    if isinstance(source_ratio, (str, bytes)) or not isinstance(source_ratio, Sequence) or not source_ratio or any(
            isinstance(r, bool) or not isinstance(r, numbers.Real) or not math.isfinite(r) or not r > 0
            for r in source_ratio):
        raise ValueError(f'RatioSampler.source_ratio must be a list of finite positive numbers, got {source_ratio!r}')
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f'RatioSampler.batch_size must be a positive integer, got {batch_size!r}')
    ratios = [float(r) for r in source_ratio]
    if batch_size < len(ratios):
        raise ValueError(f'RatioSampler.batch_size {batch_size} cannot hold one image of each of {len(ratios)} sources')
    exact = [batch_size * r / sum(ratios) for r in ratios]
    counts = [max(1, math.floor(x)) for x in exact]
    while sum(counts) < batch_size:
        counts[max(range(len(counts)), key=lambda k: exact[k] - counts[k])] += 1
    while sum(counts) > batch_size:
        counts[max((k for k in range(len(counts)) if counts[k] > 1), key=lambda k: counts[k] - exact[k])] -= 1
    return counts


@DATA_SAMPLERS.register_module()
class RatioSampler(Sampler):
    """Indices of a ``ConcatDataset`` in batches of ``batch_size`` that hold the sources in ``source_ratio``.

    Use it as the dataloader's ``sampler`` with ``batch_sampler=None`` and the same ``batch_size``, e.g. one
    labeled image for four unlabeled ones::

        train_dataloader = dict(batch_size=5, batch_sampler=None,
                                sampler=dict(type='RatioSampler', batch_size=5, source_ratio=[1, 4]),
                                dataset=dict(type='ConcatDataset', datasets=[labeled, unlabeled]))

    Another ``batch_size`` of the dataloader, or a batch sampler left in place, would regroup the batches: both
    are refused before training (:func:`check_ratio_loader`, run by ``TrainingDataCheckHook``).

    Args:
        dataset (ConcatDataset): The sources, the first one defining the epoch.
        batch_size (int): Images per batch (the dataloader's ``batch_size``).
        source_ratio (list[float]): Relative share of each source in a batch.
        shuffle (bool): Shuffle within each source. Defaults to True.
        seed (int, optional): Shared by all processes. Defaults to a synchronised random seed.
    """

    def __init__(self, dataset: ConcatDataset, batch_size: int, source_ratio: Sequence[float], shuffle: bool = True,
                 seed=None) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(f'RatioSampler needs a ConcatDataset of the sources, got {type(dataset).__name__}')
        self.counts = split_batch(batch_size, source_ratio)
        if len(source_ratio) != len(dataset.datasets):
            raise ValueError(f'RatioSampler.source_ratio has {len(source_ratio)} values for {len(dataset.datasets)} '
                             'datasets')
        self.batch_size = batch_size
        self.sizes = [len(source) for source in dataset.datasets]
        if any(size == 0 for size in self.sizes):
            raise ValueError(f'RatioSampler: a source is empty (sizes {self.sizes})')
        self.offsets = [0] + list(dataset.cumulative_sizes[:-1])
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        total = math.ceil(self.sizes[0] / self.counts[0])
        #: Batches per process and epoch (all processes the same; the last batches wrap around).
        self.num_batches = math.ceil(total / self.world_size)

    def _stream(self, source: int, generator: torch.Generator) -> Iterator[int]:
        while True:
            size = self.sizes[source]
            order = torch.randperm(size, generator=generator).tolist() if self.shuffle else list(range(size))
            for index in order:
                yield self.offsets[source] + index

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        streams = [self._stream(source, generator) for source in range(len(self.sizes))]
        batches = [[next(stream) for stream, count in zip(streams, self.counts) for _ in range(count)]
                   for _ in range(self.num_batches * self.world_size)]
        for batch in batches[self.rank::self.world_size]:
            yield from batch

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def check_ratio_loader(loader, name: str = 'train_dataloader') -> None:
    """Raises unless a dataloader whose sampler is a :class:`RatioSampler` keeps its batches as they are.

    The sampler yields its indices batch after batch; the dataloader must cut them into batches of the same
    size with a plain ``BatchSampler`` (``batch_sampler=None``). A ``batch_size`` of the dataloader other than
    the sampler's mixes the sampler's batches (5 vs 4: batches of 3 + 2, then 2 + 3 labeled and unlabeled
    images instead of 1 + 4), and a batch sampler such as ``AspectRatioBatchSampler`` regroups them (and fails
    on the sampler, which has no ``dataset``). A loader with another sampler passes.

    Raises:
        ValueError: Naming the dataloader's and the sampler's settings.
    """
    batch_sampler = getattr(loader, 'batch_sampler', None)
    inner = getattr(batch_sampler, 'sampler', None)
    sampler = inner if isinstance(inner, RatioSampler) else getattr(loader, 'sampler', None)
    if not isinstance(sampler, RatioSampler):
        return
    if type(batch_sampler) is not BatchSampler:
        raise ValueError(f'{name}.sampler is a RatioSampler (its indices already form the mixed batches), but '
                         f'{name}.batch_sampler is a {type(batch_sampler).__name__}, which would regroup them: set '
                         f'{name}.batch_sampler=None (e.g. --cfg-options {name}.batch_sampler=None)')
    if batch_sampler.batch_size != sampler.batch_size:
        raise ValueError(f'{name}.batch_size ({batch_sampler.batch_size}) differs from {name}.sampler.batch_size '
                         f'({sampler.batch_size}) of the RatioSampler: its batches of {sampler.batch_size} '
                         f'({"+".join(map(str, sampler.counts))} images of the sources) would be cut into batches of '
                         f'{batch_sampler.batch_size} with another mix; set both to the same number')
