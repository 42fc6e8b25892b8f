"""A batch seen at another resolution: the student's view of a teacher-resolution batch (paper, Table 2)."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor

from mmdet.structures import SampleList


def _rescale_boxes(boxes, scale_x: float, scale_y: float):
    """Boxes (a tensor ``(N, 4)`` or mmdet ``BaseBoxes``) scaled by ``(scale_x, scale_y)``."""
    if hasattr(boxes, 'rescale_'):
        boxes = boxes.clone()
        boxes.rescale_((scale_x, scale_y))
        return boxes
    return boxes * boxes.new_tensor([scale_x, scale_y, scale_x, scale_y])


def rescale_batch(inputs: Tensor, data_samples: SampleList, scale: float) -> Tuple[Tensor, SampleList]:
    """The preprocessed batch resized by ``scale``, with copies of its samples that describe it.

    The images are resized bilinearly (``align_corners=False``, no antialiasing: what MMDetection's
    ``Resize`` does to the image with OpenCV's ``INTER_LINEAR``; at a factor 1/2 each pixel is the mean of a
    2x2 block). Normalisation is per-channel affine and padding is zero after it, so resizing the
    normalised batch equals normalising a resized image, up to the pixels at the padding border.
    Each sample is a copy with its ground-truth (and ignored) boxes, ``img_shape``, ``pad_shape``,
    ``batch_input_shape`` and ``scale_factor`` scaled alike, so losses, targets and the rescaling of
    predictions to the original image all stay consistent; the input samples are not modified.

    Args:
        inputs (Tensor): ``(B, C, H, W)`` batch from the data preprocessor.
        data_samples (list[DetDataSample]): Its samples.
        scale (float): Resize factor, e.g. 0.5 for a student at half the teacher's resolution.

    Returns:
        tuple: ``(resized inputs, rescaled sample copies)``; the inputs unchanged when ``scale == 1``.
    """
    if scale == 1.0:
        return inputs, data_samples
    if scale <= 0:
        raise ValueError(f'rescale_batch: scale must be > 0, got {scale}')
    height, width = inputs.shape[-2:]
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    scale_y, scale_x = new_height / height, new_width / width
    resized = F.interpolate(inputs, size=(new_height, new_width), mode='bilinear', align_corners=False)
    samples = []
    for sample in data_samples:
        sample = sample.clone()
        meta = sample.metainfo
        updates = {'batch_input_shape': (new_height, new_width)}
        for key in ('img_shape', 'pad_shape'):
            if key in meta:
                updates[key] = (round(meta[key][0] * scale_y), round(meta[key][1] * scale_x), *meta[key][2:])
        if 'scale_factor' in meta:
            updates['scale_factor'] = (meta['scale_factor'][0] * scale_x, meta['scale_factor'][1] * scale_y)
        sample.set_metainfo(updates)
        for field in ('gt_instances', 'ignored_instances'):  # clone() is shallow: new instances, new boxes
            if field in sample and 'bboxes' in sample.get(field):
                instances = sample.get(field).clone()
                instances.bboxes = _rescale_boxes(instances.bboxes, scale_x, scale_y)
                setattr(sample, field, instances)
        samples.append(sample)
    return resized, samples

