"""Images nobody annotated: a folder as a detection dataset whose samples say ``unlabeled=True``.

Mixed with a labeled dataset (``ConcatDataset``, and MMDetection's ``GroupMultiSourceSampler`` for the ratio
of labeled to unlabeled images per batch), the distillation detector gives these images the teacher's
detections as ground truth (see ``BlackBoxKDFasterRCNN``). The train pipeline's ``PackDetInputs`` must keep
the ``unlabeled`` and ``homography_matrix`` meta keys.
"""
import os
import os.path as osp
from typing import List, Sequence

from PIL import Image

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def unlabeled_indices(batch_data_samples: Sequence) -> List[int]:
    """Positions in a batch of the samples marked ``unlabeled`` (by :class:`UnlabeledImageDataset`)."""
    return [i for i, sample in enumerate(batch_data_samples) if sample.metainfo.get('unlabeled', False)]


def list_images(root: str) -> List[str]:
    """Image files under ``root`` (recursively), as sorted paths relative to it.

    Raises:
        FileNotFoundError: If ``root`` is not a folder or holds no image.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'image folder {root!r} not found')
    found = sorted(
        osp.relpath(osp.join(folder, name), root) for folder, _, names in os.walk(root) for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS))
    if not found:
        raise FileNotFoundError(f'image folder {root!r} holds no image ({", ".join(IMAGE_EXTENSIONS)})')
    return found


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDetDataset):
    """Every image under ``data_root`` / ``data_prefix['img']``, without annotations.

    Give it the labeled dataset's ``metainfo`` (its classes) so that the two concatenate. Each sample has no
    instances and ``unlabeled=True``; ``width`` / ``height`` are read from the image headers (for
    ``AspectRatioBatchSampler``).
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault('ann_file', '')
        kwargs.setdefault('filter_cfg', None)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_prefix.get('img', self.data_root)
        data_list = []
        for index, name in enumerate(list_images(root)):
            path = osp.join(root, name)
            with Image.open(path) as image:
                width, height = image.size
            data_list.append(dict(img_path=path, img_id=f'unlabeled/{name}', width=width, height=height,
                                  instances=[], unlabeled=True))
        return data_list
