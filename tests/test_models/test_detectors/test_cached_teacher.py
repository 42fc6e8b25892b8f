"""CachedTeacher: a float32 cache gives the live teacher's losses (first step: computed and stored; later steps:
read back from disk), on the demo's config and on the FPN pair with PKD and the paper's terms; a cache of another
checkpoint, a random pipeline, a half-written or foreign entry are refused, naming why."""
import copy
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

import det_kd  # noqa: F401  (registers det_kd's modules)
from det_kd.models.distillation.teachers.cached import CachedTeacher, entry_key
from det_kd.models.distillation.training_set import check_training_set

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from kd_fixtures import REPO  # noqa: E402
from kd_step_cases import one_thread, training_step  # noqa: E402

CONFIGS = osp.join(REPO, 'configs')
DEMO = 'demo/kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'
FPN = 'kd/kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'
FPN_PKD = dict(terms=[dict(type='PearsonDistillationTerm', pairs=[dict(student=level, teacher=level)
                                                                  for level in range(4)])])


def teacher_checkpoint(config: str, folder) -> str:
    """The config's teacher with random weights (seed 5), saved as a checkpoint."""
    model_cfg = Config.fromfile(Config.fromfile(osp.join(CONFIGS, config)).model.teacher.config).model
    torch.manual_seed(5)
    teacher = MODELS.build(model_cfg)
    teacher.init_weights()
    path = str(folder / f'teacher_{osp.basename(config)}.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def model_cfg(config: str, checkpoint: str, cache_dir=None, distill=None, **cached):
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    teacher = dict(config=cfg.teacher.config, checkpoint=checkpoint)
    if cache_dir is not None:
        teacher.update(type='CachedTeacher', cache_dir=str(cache_dir), **cached)
    cfg.teacher = teacher
    if distill:
        cfg.distill = {**cfg.distill, **distill}
    return cfg


def samples(folder, flip=False, seed=1):
    """Two packed 128x160 images whose img_path are real files (the cache keys them by their content)."""
    torch.manual_seed(seed)
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160)] * 2, num_items=[3, 2], num_classes=5)
    for index, sample in enumerate(data['data_samples']):
        path = folder / f'img{index}.png'
        if not path.exists():
            path.write_bytes(bytes([index]) * 64)
        sample.set_metainfo(dict(img_path=str(path), homography_matrix=np.eye(3, dtype=np.float32), flip=flip,
                                 flip_direction='horizontal' if flip else None))
    return data


def step(cfg, data):
    with one_thread():
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        model.train()
        packed = model.data_preprocessor(copy.deepcopy(data), True)
        return model, training_step(model, packed['inputs'], packed['data_samples'])['losses']


def assert_same_losses(live, cached, atol=1e-5):
    assert set(live) == set(cached)
    for key in live:
        assert torch.allclose(live[key], cached[key], atol=atol, rtol=0), (key, live[key], cached[key])


#: a hint on a module by name (its map stored under its name; an int layer is one of the stored feats)
NAMED_HINT = dict(hints=[dict(student='backbone.layer3', teacher='backbone.layer3', adapter='conv1x1', align='pad')])


@pytest.mark.parametrize('config,distill', [(DEMO, None), (FPN, FPN_PKD), (FPN, NAMED_HINT)],
                         ids=['demo', 'fpn_pkd_paper', 'fpn_named_layer'])
def test_float32_cache_gives_the_live_teachers_losses(tmp_path, config, distill):
    checkpoint = teacher_checkpoint(config, tmp_path)
    data = samples(tmp_path)
    _, live = step(model_cfg(config, checkpoint, distill=distill), data)
    cache = tmp_path / 'cache'
    model, first = step(model_cfg(config, checkpoint, cache, distill=distill), data)
    assert (model.distiller.teacher.hits, model.distiller.teacher.misses) == (0, 2)
    assert_same_losses(live, first)
    # a new run on the same cache reads both images back and runs only the teacher's RoI head
    model, again = step(model_cfg(config, checkpoint, cache, distill=distill), data)
    assert (model.distiller.teacher.hits, model.distiller.teacher.misses) == (2, 0)
    assert_same_losses(live, again)
    assert len(list(cache.glob('*/*.pt'))) == 2 and (cache / 'cache.json').is_file()


def test_float16_cache_is_half_the_disk_and_close(tmp_path):
    checkpoint = teacher_checkpoint(DEMO, tmp_path)
    data = samples(tmp_path)
    _, live = step(model_cfg(DEMO, checkpoint), data)
    sizes = {}
    for dtype in ('float32', 'float16'):
        cache = tmp_path / dtype
        _, losses = step(model_cfg(DEMO, checkpoint, cache, dtype=dtype), data)
        _, losses = step(model_cfg(DEMO, checkpoint, cache, dtype=dtype), data)  # read back
        sizes[dtype] = sum(p.stat().st_size for p in cache.glob('*/*.pt'))
    assert_same_losses(live, losses, atol=5e-3)
    assert sizes['float16'] < 0.6 * sizes['float32']


def test_flip_and_padding_are_other_entries(tmp_path):
    data, flipped = samples(tmp_path), samples(tmp_path, flip=True)
    sample, other = data['data_samples'][0], flipped['data_samples'][0]
    assert entry_key(sample, (128, 160)) == entry_key(copy.deepcopy(sample), (128, 160))
    assert entry_key(sample, (128, 160)) != entry_key(other, (128, 160))
    assert entry_key(sample, (128, 160)) != entry_key(sample, (160, 160))
    before = entry_key(sample, (128, 160))
    (tmp_path / 'img0.png').write_bytes(b'another image at the same path')
    assert entry_key(sample, (128, 160)) != before  # its size and modification time changed
    sample.set_metainfo(dict(img_path=str(tmp_path / 'missing.png')))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        entry_key(sample, (128, 160))


def test_a_cache_of_another_teacher_or_setting_is_refused(tmp_path):
    checkpoint = teacher_checkpoint(DEMO, tmp_path)
    cache = tmp_path / 'cache'
    MODELS.build(model_cfg(DEMO, checkpoint, cache))
    other = tmp_path / 'other.pth'
    state = torch.load(checkpoint, weights_only=True)
    first = next(iter(state['state_dict']))
    state['state_dict'][first] = state['state_dict'][first] + 1
    torch.save(state, other)
    with pytest.raises(ValueError, match=r'holds the cache of another teacher or setting: checkpoint_sha256 differs'):
        MODELS.build(model_cfg(DEMO, str(other), cache))
    with pytest.raises(ValueError, match='dtype differs'):
        MODELS.build(model_cfg(DEMO, checkpoint, cache, dtype='float16'))
    with pytest.raises(ValueError, match='needs a trained checkpoint'):
        MODELS.build(model_cfg(DEMO, None, tmp_path / 'random'))
    with pytest.raises(ValueError, match='dtype must be one of'):
        MODELS.build(model_cfg(DEMO, checkpoint, tmp_path / 'x', dtype='bfloat8'))


def test_an_entry_under_another_key_is_refused(tmp_path):
    checkpoint = teacher_checkpoint(DEMO, tmp_path)
    cache = tmp_path / 'cache'
    data = samples(tmp_path)
    step(model_cfg(DEMO, checkpoint, cache), data)
    first, second = sorted(cache.glob('*/*.pt'))
    second.write_bytes(first.read_bytes())  # a file holding another image's entry
    with pytest.raises(ValueError, match='holds key'):
        step(model_cfg(DEMO, checkpoint, cache), data)


class _Transform:
    pass


class RandomResize(_Transform):
    pass


class Resize(_Transform):
    pass


def test_random_transforms_are_refused_at_start_up(tmp_path):
    from types import SimpleNamespace
    checkpoint = teacher_checkpoint(DEMO, tmp_path)
    model = MODELS.build(model_cfg(DEMO, checkpoint, tmp_path / 'cache'))
    assert isinstance(model.distiller.teacher, CachedTeacher)

    def dataset(*transforms):
        return SimpleNamespace(pipeline=SimpleNamespace(transforms=list(transforms)),
                               metainfo=dict(classes=tuple(f'class{i}' for i in range(5))))
    assert model.distiller.teacher.check_training_pipeline(dataset(Resize())) == []
    with pytest.raises(ValueError, match='transforms its images with RandomResize, which the cache key cannot'):
        check_training_set(model, dataset(Resize(), RandomResize()))
    from det_kd.models.distillation.teachers.cached import uncacheable_transforms
    assert uncacheable_transforms(['Resize', 'mmdet.RandomFlip', 'mmdet.PhotoMetricDistortion']) == [
        'mmdet.PhotoMetricDistortion']
    with pytest.raises(ValueError, match='RandomResize'):
        check_training_set(model, dataset(Resize(), RandomResize()))


def test_a_reader_never_sees_a_half_written_entry(tmp_path):
    """Ranks write entries under a temporary name and rename it: a reader of another rank (here a thread) reads a
    whole entry while it is being rewritten, never a truncated file."""
    import threading
    teacher = CachedTeacher.__new__(CachedTeacher)
    teacher.cache_dir, teacher.name = str(tmp_path), 'teacher'
    key = 'ab' * 32
    entry = dict(key=key, feats=[torch.arange(200_000, dtype=torch.float32)])
    stop = threading.Event()
    teacher._write(key, entry)  # then rewritten again and again while it is read

    def write():
        while not stop.is_set():
            teacher._write(key, entry)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        reads = [teacher._read(key) for _ in range(200)]
    finally:
        stop.set()
        writer.join()
    assert all(read is not None and torch.equal(read['feats'][0], entry['feats'][0]) for read in reads)


def test_runs_with_other_layers_share_a_cache(tmp_path):
    """Two columns of an ablation read other teacher layers from one cache: an entry keeps every layer written."""
    checkpoint = teacher_checkpoint(FPN, tmp_path)
    data, cache = samples(tmp_path), tmp_path / 'cache'
    hint = lambda layer: dict(hints=[dict(student=layer, teacher=layer, adapter='conv1x1', align='pad')])  # noqa
    step(model_cfg(FPN, checkpoint, cache, distill=hint('backbone.layer3')), data)
    model, _ = step(model_cfg(FPN, checkpoint, cache, distill=hint('backbone.layer2')), data)
    assert (model.distiller.teacher.hits, model.distiller.teacher.misses) == (0, 2)  # layer2 was not stored
    entries = [torch.load(path, weights_only=True) for path in cache.glob('*/*.pt')]
    assert len(entries) == 2 and all({'map:backbone.layer2', 'map:backbone.layer3'} <= set(e) for e in entries)
    model, _ = step(model_cfg(FPN, checkpoint, cache, distill=hint('backbone.layer3')), data)
    assert (model.distiller.teacher.hits, model.distiller.teacher.misses) == (2, 0)
