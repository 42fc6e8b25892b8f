"""RatioSampler: the sources' share of every batch, one epoch = one pass over the labeled source, resume, ranks."""
from unittest import mock

import pytest
from mmengine.dataset import BaseDataset, ConcatDataset

from det_kd.datasets.ratio_sampler import RatioSampler, split_batch


class Source(BaseDataset):
    def __init__(self, size, name):
        self.size, self.name = size, name
        super().__init__(serialize_data=False, lazy_init=False, metainfo=dict(classes=('a', )))

    def load_data_list(self):
        return [dict(source=self.name, index=i) for i in range(self.size)]


def _concat(labeled=10, unlabeled=23):
    return ConcatDataset([Source(labeled, 'labeled'), Source(unlabeled, 'unlabeled')])


def test_split_batch():
    assert split_batch(5, [1, 4]) == [1, 4]
    assert split_batch(4, [1, 1]) == [2, 2]
    assert split_batch(3, [1, 100]) == [1, 2]  # every source keeps one image
    with pytest.raises(ValueError, match='positive'):
        split_batch(4, [1, 0])
    with pytest.raises(ValueError, match='cannot hold one image of each'):
        split_batch(1, [1, 1])


@pytest.mark.parametrize('ratio', [[1, float('inf')], [1, float('nan')], [1, '4'], [True, 4], [], 4])
def test_a_ratio_that_is_not_finite_positive_numbers_is_refused_naming_the_key(ratio):
    with pytest.raises(ValueError, match=r'RatioSampler.source_ratio must be a list of finite positive numbers, got'):
        RatioSampler(_concat(), 5, ratio)


@pytest.mark.parametrize('batch_size', [0, -5, 2.5, '5', True])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused(batch_size):
    with pytest.raises(ValueError, match=r'RatioSampler.batch_size must be a positive integer, got'):
        split_batch(batch_size, [1, 4])


def test_every_batch_holds_the_ratio_and_an_epoch_passes_over_the_labeled_images():
    dataset = _concat()
    sampler = RatioSampler(dataset, batch_size=5, source_ratio=[1, 4], seed=0)
    indices = list(sampler)
    assert len(indices) == len(sampler) == 10 * 5
    batches = [indices[i:i + 5] for i in range(0, len(indices), 5)]
    for batch in batches:
        sources = ['labeled' if i < 10 else 'unlabeled' for i in batch]
        assert sources == ['labeled'] + ['unlabeled'] * 4
    assert sorted(b[0] for b in batches) == list(range(10))  # each labeled image once
    unlabeled = [i for b in batches for i in b[1:]]
    assert set(unlabeled) == set(range(10, 33))  # all 23 unlabeled images drawn (40 draws, reshuffled)


def test_the_order_depends_only_on_seed_and_epoch():
    first = RatioSampler(_concat(), 5, [1, 4], seed=3)
    again = RatioSampler(_concat(), 5, [1, 4], seed=3)
    assert list(first) == list(again)
    epoch0 = list(first)
    first.set_epoch(1)
    again.set_epoch(1)
    assert list(first) == list(again) != epoch0


def test_processes_take_disjoint_batches_of_the_same_epoch():
    runs = []
    for rank in range(2):
        with mock.patch('det_kd.datasets.ratio_sampler.get_dist_info', return_value=(rank, 2)):
            runs.append(RatioSampler(_concat(), 5, [1, 4], seed=0))
    with mock.patch('det_kd.datasets.ratio_sampler.get_dist_info', return_value=(0, 1)):
        whole = list(RatioSampler(_concat(), 5, [1, 4], seed=0))
    assert len(runs[0]) == len(runs[1]) == 25
    batches = [whole[i:i + 5] for i in range(0, len(whole), 5)]
    assert list(runs[0]) == [i for b in batches[0::2] for i in b]
    assert list(runs[1]) == [i for b in batches[1::2] for i in b]


def test_a_plain_dataset_or_a_wrong_ratio_is_refused():
    with pytest.raises(TypeError, match='needs a ConcatDataset'):
        RatioSampler(Source(3, 'x'), 2, [1])
    with pytest.raises(ValueError, match='2 values for 3 datasets'):
        RatioSampler(ConcatDataset([Source(2, 'a'), Source(2, 'b'), Source(2, 'c')]), 4, [1, 1])
