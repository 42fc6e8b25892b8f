"""One trained detector as the teacher, its per-image outputs computed once and read back from disk.

The teacher's feature maps, its RPN maps and the neck / backbone maps its RoI head pools from depend only on the
image, its augmentation and the padded batch size; the RoI terms' class scores and deltas depend on the
student's sampled RoIs, which change every step. A :class:`CachedTeacher` stores the first per image and reads
them back at every later step, and runs only the teacher's RoI head on the student's RoIs. The cache:

- lives in ``cache_dir``: ``cache.json`` (what it was written for: the checkpoint's SHA-256, the teacher's
  config, its input scale and normalisation, the student's, the storage dtype) and one file per image and
  augmentation (``<key[:2]>/<key>.pt``, written to a temporary name and renamed: no reader, of any rank, sees a
  half-written entry), read memory-mapped with ``weights_only=True``;
- is keyed per entry by the image file (path, size, modification time), its augmentation (``img_shape``,
  ``scale_factor``, ``flip``, ``flip_direction``) and the padded batch size; a ``cache_dir`` written for another
  checkpoint, config or setting is refused at build time naming what differs;
- refuses, before the first step, a training pipeline with a random transform the key cannot capture (a random
  resize, crop, photometric change...), naming it: only the transforms in :data:`CACHEABLE_TRANSFORMS` pass;
- stores float32 (the same losses as the live teacher) or float16 (half the disk; the maps rounded).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional, Sequence

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from torch import Tensor

from ....datasets.unlabeled_images import leaf_datasets
from ..feature_maps import extract_maps
from .base import TeacherContext, TeacherOutputs, TeacherRequest
from .network import NetworkTeacher

#: Bump when the entries' layout changes: an older cache is then refused, not misread.
CACHE_FORMAT = 1
#: Training transforms whose output the entry key captures (deterministic per image, or a flip the key records).
CACHEABLE_TRANSFORMS = frozenset({
    'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomFlip', 'PackDetInputs', 'FilterAnnotations', 'Pad',
    'LoadEmptyAnnotations', 'ConvertBoxType'
})
DTYPES = {'float32': torch.float32, 'float16': torch.float16}


def uncacheable_transforms(types: Iterable[str]) -> List[str]:
    """The transform type names (``'Resize'``, ``'mmdet.RandomResize'``...) the cache key cannot capture."""
    return [kind for kind in types if str(kind).split('.')[-1] not in CACHEABLE_TRANSFORMS]


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _config_text(config: Any) -> str:
    """The teacher's model config as canonical text (a path, a ``package::path`` or a dict)."""
    model = Config.fromfile(config).model if isinstance(config, str) else Config(dict(config)).get('model', config)
    return json.dumps(model.to_dict() if hasattr(model, 'to_dict') else dict(model), sort_keys=True, default=str)


def _preprocessor(pre) -> Dict[str, Any]:
    return dict(mean=getattr(pre, 'mean', torch.zeros(0)).flatten().tolist(),
                std=getattr(pre, 'std', torch.zeros(0)).flatten().tolist(),
                bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False)),
                normalize=bool(getattr(pre, '_enable_normalize', False)))


def entry_key(sample: Any, padded_size: Sequence[int]) -> str:
    """The key of one image's entry: its file (path, size, modification time), its augmentation and the batch's
    padded size (the teacher's maps near the border depend on it).

    Raises:
        FileNotFoundError: The sample's ``img_path`` is not a file (naming it).
    """
    meta = sample.metainfo
    path = meta.get('img_path')
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'CachedTeacher: the training image {path!r} is not a file: its outputs cannot be '
                                'keyed by its content (use the live teacher for in-memory images)')
    stat = os.stat(path)
    scale = meta.get('scale_factor')
    fields = dict(path=osp.abspath(path), size=stat.st_size, mtime=stat.st_mtime_ns,
                  img_shape=list(meta.get('img_shape', ())[:2]),
                  scale_factor=[round(float(v), 8) for v in scale] if scale is not None else None,
                  flip=bool(meta.get('flip', False)), flip_direction=meta.get('flip_direction'),
                  padded=list(padded_size))
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _named(layers: Sequence) -> List[str]:
    """The layers stored under their own name: module paths (an int layer is an output of ``extract_feat``)."""
    return [layer for layer in layers if not isinstance(layer, int)]


@MODELS.register_module()
class CachedTeacher(NetworkTeacher):
    """A :class:`~.network.NetworkTeacher` whose per-image outputs are cached on disk (see the module docstring).

    Args:
        context (TeacherContext): The student it teaches.
        config (str | dict): The teacher's config.
        checkpoint (str): Its weights (required: the cache is keyed by their SHA-256).
        cache_dir (str): The folder of the cache (created; refused if written for another teacher or setting).
        dtype (str): ``'float32'`` (default; the live teacher's losses) or ``'float16'`` (half the disk).
        **network_args: ``input_scale``, ``renormalize``, ``name``... as :class:`~.network.NetworkTeacher`.
    """

    def __init__(self, context: TeacherContext, config, checkpoint: Optional[str] = None,
                 cache_dir: Optional[str] = None, dtype: str = 'float32', **network_args) -> None:
        name = network_args.get('name', 'KDFasterRCNN.teacher')
        if network_args.get('allow_random_init') or not checkpoint:
            raise ValueError(f'{name}: a CachedTeacher needs a trained checkpoint (its cache is keyed by the '
                             "checkpoint's SHA-256; a random teacher's outputs must never be read back)")
        if not cache_dir:
            raise ValueError(f'{name}.cache_dir: a CachedTeacher needs a folder for its cache')
        if dtype not in DTYPES:
            raise ValueError(f'{name}.dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
        super().__init__(context, config, checkpoint, **network_args)
        self.cache_dir, self.dtype = osp.abspath(cache_dir), dtype
        self.hits = self.misses = 0
        self._check_manifest()

    # ------------------------------------------------------------------ the cache's identity
    def manifest(self) -> Dict[str, Any]:
        """What this cache is written for; another value of any field makes it another cache."""
        return dict(format=CACHE_FORMAT, checkpoint_sha256=file_sha256(self.checkpoint),
                    teacher_config=_config_text(self.config), input_scale=self.input_scale,
                    renormalize=self.renormalize,
                    teacher_preprocessor=_preprocessor(self.network.data_preprocessor),
                    student_preprocessor=_preprocessor(self.context.student.data_preprocessor), dtype=self.dtype)

    def _check_manifest(self) -> None:
        os.makedirs(self.cache_dir, exist_ok=True)
        path, wanted = osp.join(self.cache_dir, 'cache.json'), self.manifest()
        if osp.isfile(path):
            with open(path) as f:
                found = json.load(f)
            differ = [key for key in sorted(set(wanted) | set(found)) if wanted.get(key) != found.get(key)]
            if differ:
                raise ValueError(
                    f'{self.name}.cache_dir {self.cache_dir} holds the cache of another teacher or setting: '
                    f'{", ".join(differ)} differ{"s" if len(differ) == 1 else ""} (checkpoint {self.checkpoint}); '
                    'use another cache_dir, or delete this one')
            return
        temporary = f'{path}.{os.getpid()}.tmp'
        with open(temporary, 'w') as f:
            json.dump(wanted, f, indent=2)
        os.replace(temporary, path)

    def check_training_pipeline(self, dataset: Any) -> List[str]:
        """Refuses a training pipeline with a transform the entry key cannot capture, naming it."""
        for index, leaf in enumerate(leaf_datasets(dataset)):
            transforms = getattr(getattr(leaf, 'pipeline', None), 'transforms', None) or []
            refused = uncacheable_transforms(type(transform).__name__ for transform in transforms)
            if refused:
                raise ValueError(
                    f'{self.name} (CachedTeacher): training dataset {index} transforms its images with '
                    f'{", ".join(refused)}, '
                    'which the cache key cannot capture (it takes only '
                    f'{", ".join(sorted(CACHEABLE_TRANSFORMS))}); a cached output would not match the '
                    'image the student sees. Use the live teacher: teacher=dict(config=..., checkpoint=...)')
        return []

    # ------------------------------------------------------------------ one step
    def _entry_path(self, key: str) -> str:
        return osp.join(self.cache_dir, key[:2], f'{key}.pt')

    def _read(self, key: str) -> Optional[Dict[str, Any]]:
        path = self._entry_path(key)
        if not osp.isfile(path):
            return None
        entry = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        if entry.get('key') != key:
            raise ValueError(f'{self.name}: cache entry {path} holds key {entry.get("key")!r}, not its file name')
        return entry

    def _write(self, key: str, entry: Dict[str, Any]) -> None:
        path = self._entry_path(key)
        os.makedirs(osp.dirname(path), exist_ok=True)
        temporary = f'{path}.{os.getpid()}.tmp'
        torch.save(entry, temporary)
        os.replace(temporary, path)

    @staticmethod
    def _complete(entry: Optional[Dict[str, Any]], layers: Sequence[str], rpn: bool) -> bool:
        return (entry is not None and all(f'map:{layer}' in entry for layer in _named(layers))
                and (not rpn or 'rpn_cls' in entry))

    def _compute(self, request: TeacherRequest, layers: list, rpn: bool, rows: List[int]) -> List[dict]:
        """The entries of the samples at ``rows``, from one teacher forward on the whole batch (as the live
        teacher computes it: the same kernels and batch size, the same numbers to the bit)."""
        inputs = self.inputs(request.inputs, request.samples)
        feats, maps = extract_maps(self.network, layers, inputs, 'teacher')
        rpn_maps = self.network.rpn_head(feats) if rpn else None
        store = DTYPES[self.dtype]
        named = _named(layers)  # an int layer is one of `feats`: stored once
        named_maps = [m for layer, m in zip(layers, maps) if not isinstance(layer, int)]
        entries = []
        for row in rows:
            keep = lambda maps: [m[row].to('cpu', store).contiguous() for m in maps]  # noqa: E731
            entry = dict(feats=keep(feats))
            entry.update({f'map:{layer}': kept for layer, kept in zip(named, keep(named_maps))})
            if rpn_maps is not None:
                entry['rpn_cls'], entry['rpn_reg'] = keep(rpn_maps[0]), keep(rpn_maps[1])
            entries.append(entry)
        return entries

    @torch.no_grad()
    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        layers = request.layers[self.index] if self.index < len(request.layers) else []
        rpn = request.student_rpn_cls is not None
        padded = tuple(request.inputs.shape[-2:])
        keys = [entry_key(sample, padded) for sample in request.samples]
        entries = [self._read(key) for key in keys]
        missing = [i for i, entry in enumerate(entries) if not self._complete(entry, layers, rpn)]
        self.hits, self.misses = self.hits + len(keys) - len(missing), self.misses + len(missing)
        if missing:
            for i, computed in zip(missing, self._compute(request, layers, rpn, missing)):
                # an entry another run wrote for other layers keeps them (runs share a cache)
                entries[i] = {**(entries[i] or {}), **computed, 'key': keys[i]}
                self._write(keys[i], entries[i])
        device = request.inputs.device

        def stacked(parts: List[Tensor]) -> Tensor:
            return torch.stack(parts).to(device, torch.float32)

        feats = tuple(stacked([entry['feats'][level] for entry in entries])
                      for level in range(len(entries[0]['feats'])))
        outputs = TeacherOutputs(maps=[{layer: feats[layer] if isinstance(layer, int) else
                                        stacked([entry[f'map:{layer}'] for entry in entries]) for layer in layers}])
        if rpn:
            teacher_rpn = tuple([stacked([entry[part][level] for entry in entries])
                                 for level in range(len(entries[0][part]))] for part in ('rpn_cls', 'rpn_reg'))
            outputs.rpn = self.on_student_grid(teacher_rpn, request.student_rpn_cls)
        if request.rois is not None:
            outputs.rcn_cls, outputs.rcn_reg = self.on_student_rois(feats, request.rois)
        return outputs
