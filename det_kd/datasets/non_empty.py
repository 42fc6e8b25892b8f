"""Datasets that fail naming their annotation file when nothing is left to train or test on.

An empty split file, a COCO file without ``annotations`` or a filter that drops every image used to end in
MMEngine's "need at least one array to concatenate" (training) or a COCO mAP of -1 with exit code 0
(testing); the error never named the file or the reason.
"""
from typing import List


class NonEmptyDatasetMixin:
    """Mix into an MMEngine ``BaseDataset`` subclass (before it): ``load_data_list`` must return at least one
    image and ``filter_data`` must keep at least one, else a ``ValueError`` names ``ann_file`` and why.

    A class that implements ``load_data_list`` / ``filter_data`` itself (without ``super()``) ends them with
    :meth:`checked_loaded` / :meth:`checked_kept`.
    """

    def _where(self) -> str:
        return f'{type(self).__name__} ({self.ann_file})'

    def checked_loaded(self, data_list: List[dict]) -> List[dict]:
        """``data_list`` if it is not empty."""
        if not data_list:
            raise ValueError(f'{self._where()}: the annotation / split file lists no image')
        return data_list

    def checked_kept(self, kept: List[dict]) -> List[dict]:
        """``kept`` (the images left by ``filter_data``) if it is not empty; else says which filter dropped them."""
        if not kept:
            filters = dict(self.filter_cfg or {})
            reasons = []
            without = sum(not info.get('instances') for info in self.data_list)
            if filters.get('filter_empty_gt') and without:
                reasons.append(f'{without} without any object of the listed classes {list(self.metainfo["classes"])} '
                               '(filter_empty_gt=True)')
            small = sum(min(info.get('width', 0), info.get('height', 0)) < filters.get('min_size', 0)
                        for info in self.data_list)
            if small:
                reasons.append(f'{small} smaller than min_size={filters["min_size"]}')
            raise ValueError(f'{self._where()}: 0 of {len(self.data_list)} images kept after filtering'
                             f'{": " + "; ".join(reasons) if reasons else ""} (filter_cfg={filters})')
        return kept

    def load_data_list(self) -> List[dict]:
        return self.checked_loaded(super().load_data_list())

    def filter_data(self) -> List[dict]:
        return self.checked_kept(super().filter_data())
