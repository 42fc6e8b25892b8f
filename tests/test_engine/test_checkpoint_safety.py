"""Checkpoints are never overwritten, mislabelled or read without naming the file."""
import os
import os.path as osp

import pytest
import torch

from det_kd.engine import export_student
from det_kd.utils.checkpoint import read_checkpoint_file
from det_kd.utils.work_dir_guard import OVERWRITE_FLAG, check_work_dir_is_free


def save(path, state_dict, cfg_text=''):
    torch.save({'state_dict': state_dict, 'meta': {'epoch': 3, 'cfg': cfg_text}, 'optimizer': {}}, path)
    return str(path)


@pytest.fixture
def kd_checkpoint(tmp_path):
    return save(tmp_path / 'epoch_3.pth', {'backbone.w': torch.ones(2), 'distill_adapters.0.weight': torch.ones(1)})


def test_export_keeps_the_student_and_refuses_to_overwrite(kd_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pth')
    exported = export_student(kd_checkpoint, out)
    assert list(exported['state_dict']) == ['backbone.w']
    assert list(torch.load(out, weights_only=True)['state_dict']) == ['backbone.w']
    before = os.stat(out).st_mtime_ns
    with pytest.raises(FileExistsError, match="student.pth' already exists; pass --force"):
        export_student(kd_checkpoint, out)
    assert os.stat(out).st_mtime_ns == before
    export_student(kd_checkpoint, out, force=True)
    assert not [name for name in os.listdir(tmp_path) if name.endswith('.partial')]


@pytest.mark.parametrize('force', [False, True])
def test_export_never_replaces_its_input(kd_checkpoint, force):
    size = osp.getsize(kd_checkpoint)
    with pytest.raises(FileExistsError, match='is the input checkpoint itself'):
        export_student(kd_checkpoint, kd_checkpoint, force=force)
    assert osp.getsize(kd_checkpoint) == size
    assert 'optimizer' in torch.load(kd_checkpoint, weights_only=True)


def test_export_refuses_a_plain_checkpoint_unless_allowed(tmp_path):
    plain = save(tmp_path / 'teacher.pth', {'backbone.w': torch.ones(2)}, cfg_text="model = dict(type='FasterRCNN')")
    with pytest.raises(ValueError, match=r"teacher.pth' is not a distillation checkpoint .* --allow-plain"):
        export_student(plain, str(tmp_path / 'student.pth'))
    assert not osp.exists(tmp_path / 'student.pth')
    assert list(export_student(plain, allow_plain=True)['state_dict']) == ['backbone.w']
    # A distillation run without hints has no adapters but its config says KDFasterRCNN.
    no_hints = save(tmp_path / 'kd_no_hints.pth', {'backbone.w': torch.ones(2)},
                    cfg_text="model = dict(type='KDFasterRCNN', distill=dict(loss_hint=None))")
    assert list(export_student(no_hints)['state_dict']) == ['backbone.w']


@pytest.mark.parametrize('content,words', [
    (b'', ['empty (0 bytes)']),
    (b'this is a text file, not a checkpoint\n', ['not a readable PyTorch checkpoint']),
    (None, ['not a readable PyTorch checkpoint']),  # a real checkpoint cut in half
])
def test_unreadable_checkpoints_name_the_file(tmp_path, kd_checkpoint, content, words):
    path = tmp_path / 'broken.pth'
    if content is None:
        with open(kd_checkpoint, 'rb') as full:
            data = full.read()
        content = data[:len(data) // 2]
    path.write_bytes(content)
    for call in (lambda: read_checkpoint_file(str(path)),
                 lambda: export_student(str(path), str(tmp_path / 'out.pth'))):
        with pytest.raises(ValueError) as raised:
            call()
        assert 'broken.pth' in str(raised.value) and all(word in str(raised.value) for word in words)
    with pytest.raises(FileNotFoundError, match="file 'no/such.pth' not found"):
        read_checkpoint_file('no/such.pth')


@pytest.fixture
def config(tmp_path):
    path = tmp_path / 'my_config.py'
    path.write_text('model = dict(type="FasterRCNN")\n')
    return str(path)


def test_training_into_a_work_dir_with_checkpoints_is_refused(config, tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    argv = [config, '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2']
    assert check_work_dir_is_free(argv) == argv  # empty work dir
    (work_dir / 'epoch_12.pth').write_bytes(b'x')
    with pytest.raises(SystemExit, match=r"already holds checkpoints of an earlier run \(epoch_12.pth\).*--resume"):
        check_work_dir_is_free(argv)
    assert check_work_dir_is_free(argv + ['--resume']) == argv + ['--resume']
    assert check_work_dir_is_free(argv + ['--resume', str(work_dir / 'epoch_12.pth')])
    assert check_work_dir_is_free(argv[:-2] + ['--cfg-options', 'resume=True'])
    assert check_work_dir_is_free(argv + [OVERWRITE_FLAG]) == argv


def test_the_default_work_dir_is_guarded_too(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs('work_dirs/my_config')
    with open('work_dirs/my_config/last_checkpoint', 'w') as pointer:
        pointer.write('work_dirs/my_config/epoch_1.pth')
    with pytest.raises(SystemExit, match="work dir './work_dirs/my_config'"):
        check_work_dir_is_free([config])


def test_testing_a_checkpoint_of_another_model_is_refused(tmp_path):
    from mmengine.config import Config
    from mmdet.registry import MODELS

    from det_kd.utils.checkpoint_match import ALLOW_FLAG, check_checkpoint_matches_config
    config = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs', 'faster_rcnn',
                      'faster-rcnn_tiny-r18_12e_synthetic-coco.py')
    state = MODELS.build(Config.fromfile(config).model).state_dict()
    whole = save(tmp_path / 'whole.pth', {f'module.{k}': v for k, v in state.items()})  # DDP prefix is fine
    argv = [config, whole, '--work-dir', str(tmp_path / 'test')]
    assert check_checkpoint_matches_config(argv) == argv
    backbone_only = save(tmp_path / 'backbone.pth', {k: v for k, v in state.items() if k.startswith('backbone.')})
    heads = sorted(k for k in state if not k.startswith('backbone.'))
    with pytest.raises(SystemExit) as raised:
        check_checkpoint_matches_config([config, backbone_only])
    assert f"backbone.pth' lacks {len(heads)} weight(s)" in str(raised.value) and heads[0] in str(raised.value)
    assert check_checkpoint_matches_config([config, backbone_only, ALLOW_FLAG]) == [config, backbone_only]
    # --cfg-options are applied to the config before the model is built (here: other shapes, same keys).
    assert check_checkpoint_matches_config([config, whole, '--cfg-options', 'model.rpn_head.feat_channels=8'])
