"""Images nobody annotated: a folder as a detection dataset whose samples say ``unlabeled=True``.

Mixed with a labeled dataset (``ConcatDataset``, and :class:`~.ratio_sampler.RatioSampler` for the ratio
of labeled to unlabeled images per batch), the distillation detector gives these images the teacher's
detections as ground truth (see ``KDFasterRCNN``). The train pipeline's ``PackDetInputs`` must keep the
``unlabeled`` meta key (refused otherwise: the images would train as annotated images without objects) and,
for a teacher known by its detections, ``homography_matrix``. :func:`check_unlabeled_apart_from` (run at
start-up by ``TrainingDataCheckHook``) refuses an unlabeled folder that holds validation or test images.
"""
import hashlib
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterator, List, Sequence, Tuple

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
        if not self.test_mode:
            self._check_the_mark_is_packed()

    def _where(self) -> str:
        return f"{type(self).__name__} ({self.data_prefix.get('img', self.data_root)})"

    def _check_the_mark_is_packed(self) -> None:
        """Raises if a packing step of the pipeline (one with ``meta_keys``, as ``PackDetInputs``) leaves out
        ``unlabeled``: the model would see these images as annotated ones without any object."""
        for step in _pipeline_steps(self.pipeline):
            keys = getattr(step, 'meta_keys', None)
            if keys is not None and 'unlabeled' not in keys:
                raise ValueError(
                    f"{self._where()}: the pipeline's {type(step).__name__} keeps meta_keys={tuple(keys)} without "
                    "'unlabeled': the mark never reaches the model, and these images would train as annotated "
                    "images without any object (pure background). Add 'unlabeled' to its meta_keys (and "
                    "'homography_matrix' for a teacher known by its detections)")

    def load_data_list(self) -> List[dict]:
        root = self.data_prefix.get('img', self.data_root)
        data_list = []
        for index, name in enumerate(list_images(root)):
            path = osp.join(root, name)
            try:
                with Image.open(path) as image:
                    width, height = image.size
            except (OSError, SyntaxError, ValueError) as error:  # truncated, not an image, bad header
                raise ValueError(f'{self._where()}: cannot read the image {path} ({type(error).__name__}: {error}); '
                                 'replace or remove the file') from error
            data_list.append(dict(img_path=path, img_id=f'unlabeled/{name}', width=width, height=height,
                                  instances=[], unlabeled=True))
        return data_list


def _pipeline_steps(pipeline) -> Iterator:
    """The steps of a ``Compose`` pipeline, those inside wrapping steps (``RandomChoice``, ...) included."""
    for step in getattr(pipeline, 'transforms', None) or []:
        yield step
        inner = getattr(step, 'transforms', None)
        if inner is not None and not isinstance(inner, (str, bytes)):
            for item in inner if isinstance(inner, (list, tuple)) else [inner]:
                yield from _pipeline_steps(item) if hasattr(item, 'transforms') else [item]


def leaf_datasets(dataset) -> Iterator:
    """The datasets inside ``dataset`` (``ConcatDataset``'s ``datasets``, a ``RepeatDataset``'s ``dataset``,
    ...), or ``dataset`` itself."""
    inner = getattr(dataset, 'datasets', None)
    if isinstance(inner, (list, tuple)):
        for item in inner:
            yield from leaf_datasets(item)
        return
    wrapped = getattr(dataset, 'dataset', None)
    if wrapped is not None and wrapped is not dataset and hasattr(wrapped, 'get_data_info'):
        yield from leaf_datasets(wrapped)
        return
    yield dataset


def image_paths(dataset) -> List[str]:
    """The ``img_path`` of every sample of ``dataset`` (wrappers included), as real paths."""
    paths = []
    for leaf in leaf_datasets(dataset):
        for index in range(len(leaf)):
            path = leaf.get_data_info(index).get('img_path')
            if path:
                paths.append(osp.realpath(path))
    return paths


def _digest(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def _byte_copies(paths: Sequence[str], others: Sequence[str]) -> List[Tuple[str, str]]:
    """Pairs ``(path, other)`` of files with the same bytes (compared only where the sizes are equal)."""

    def size(path):
        try:
            return os.stat(path).st_size
        except OSError:
            return None

    by_size: Dict[int, List[str]] = defaultdict(list)
    for other in others:
        by_size[size(other)].append(other)
    by_size.pop(None, None)
    digests: Dict[str, str] = {}
    pairs = []
    for path in paths:
        for other in by_size.get(size(path), []):
            if path != other and digests.setdefault(path, _digest(path)) == digests.setdefault(other, _digest(other)):
                pairs.append((path, other))
                break
    return pairs


def check_unlabeled_apart_from(train_dataset, evaluated: Dict[str, object]) -> List[str]:
    """Refuses a training set whose :class:`UnlabeledImageDataset` folders hold images that ``evaluated``
    (``{'val_dataloader': dataset, ...}``) is evaluated on; returns warnings for unlabeled images that are
    byte-for-byte copies of evaluated ones (under another path: perhaps deliberate, so not refused).

    Raises:
        ValueError: Naming the unlabeled folder, the evaluated set and a few shared images.
    """
    unlabeled = [leaf for leaf in leaf_datasets(train_dataset) if isinstance(leaf, UnlabeledImageDataset)]
    warnings = []
    for leaf in unlabeled:
        paths = image_paths(leaf)
        for name, dataset in evaluated.items():
            other = image_paths(dataset)
            shared = sorted(set(paths) & set(other))
            if shared:
                raise ValueError(f'{leaf._where()}: {len(shared)} of its {len(paths)} images are images of '
                                 f'{name} (e.g. {shared[:3]}): the model would train on the images it is evaluated '
                                 'on. Give the unlabeled images a folder of their own')
            copies = _byte_copies(paths, other)
            if copies:
                warnings.append(f'{leaf._where()}: {len(copies)} of its {len(paths)} images have the same bytes as '
                                f'images of {name} (e.g. {copies[0][0]} and {copies[0][1]}): the model trains on '
                                'copies of images it is evaluated on')
    return warnings
