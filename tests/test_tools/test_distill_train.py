"""Distillation through the real tools: teacher run, KD run, checkpoint without teacher, plain-student test."""
import os.path as osp
import shutil

import pytest
import torch
from conftest import ONE_EPOCH, REPO, ToolRun, run_tool

STUDENT = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py')
KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
FPN_KD = osp.join(REPO, 'configs', 'kd', 'kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py')
FPN_TEACHER = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py')


def test_vgg16_to_alexnet_distillation_trains_and_deploys(workspace, teacher_checkpoint):
    teacher_ckpt = teacher_checkpoint

    kd_dir = str(workspace / 'kd')
    out = run_tool('train.py', [KD, '--work-dir', kd_dir, '--cfg-options', f'model.teacher.checkpoint={teacher_ckpt}',
                                *ONE_EPOCH], cwd=workspace)
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox',
                'distill_scale'):
        assert key in out, f'{key} not logged'
    assert 'teacher: coco/bbox_mAP' in out, 'teacher evaluation missing from the log'

    kd_ckpt = osp.join(kd_dir, 'epoch_1.pth')
    state = torch.load(kd_ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert not any(k.startswith('teacher') for k in state)
    teacher_state = torch.load(teacher_ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert len(state) < len(teacher_state) + 10  # student + adapters only, not teacher + student

    # What training saved evaluates with the plain student config and MMDetection's test tool ...
    # (the test and the export both only read the checkpoint: they run side by side)
    exported = str(workspace / 'student.pth')
    test_run = ToolRun('test.py', [STUDENT, kd_ckpt, '--work-dir', str(workspace / 'kd_test')], cwd=workspace)
    export_run = ToolRun('export_student.py', [kd_ckpt, '--out', exported], cwd=workspace)
    assert 'coco/bbox_mAP' in test_run.finish()
    export_run.finish()
    # ... and the exported student loads strictly into it.
    from mmengine.config import Config
    from mmdet.registry import MODELS
    import det_kd  # noqa: F401
    student = MODELS.build(Config.fromfile(STUDENT).model)
    student.load_state_dict(torch.load(exported, weights_only=True)['state_dict'], strict=True)


@pytest.mark.parametrize('method, key', [('at', 'loss_at'), ('cwd', 'loss_cwd'), ('pkd', 'loss_pkd')])
def test_feature_family_configs_train_through_the_tools(workspace, teacher_checkpoint, method, key):
    config = osp.join(REPO, 'configs', 'kd', f'{method}_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
    work_dir = str(workspace / f'kd_{method}')
    out = run_tool('train.py', [config, '--work-dir', work_dir, '--cfg-options',
                                f'model.teacher.checkpoint={teacher_checkpoint}', *ONE_EPOCH], cwd=workspace)
    assert f'{key}: ' in out and 'loss_hint: ' not in out and 'loss_rcn_kd_cls: ' not in out
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    adapters = [k for k in state if k.startswith('distill_terms.')]
    assert (adapters == []) == (method == 'at')  # AT compares attention maps: no adapter; CWD / PKD a 1x1 conv


def test_fitnets_two_stages_through_the_tools(workspace, teacher_checkpoint):
    config = osp.join(REPO, 'configs', 'kd', 'fitnets_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
    work_dir = str(workspace / 'kd_fitnets')
    options = [o for o in ONE_EPOCH if not o.startswith('train_cfg.max_epochs')]
    out = run_tool('train.py', [config, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=2',
                                'custom_hooks.0.hint_epochs=1', f'model.teacher.checkpoint={teacher_checkpoint}',
                                *options], cwd=workspace)
    stage1, stage2 = out.index('FitNets stage 1 from epoch 1'), out.index('FitNets stage 2 from epoch 2')
    assert 'loss_hint: ' in out[stage1:stage2] and 'loss_rcn_kd_cls: ' not in out[stage1:stage2]
    assert 'loss_rcn_kd_cls: ' in out[stage2:]


def test_fpn_pair_trains_the_paper_terms_and_the_family_on_every_level(workspace, tmp_path):
    """R50-FPN -> R18-FPN (1/4 width): the paper's five terms and AT, CWD, PKD on the five FPN levels at once."""
    teacher_dir = workspace / 'fpn_teacher'
    run_tool('train.py', [FPN_TEACHER, '--work-dir', str(teacher_dir), '--cfg-options', *ONE_EPOCH], cwd=workspace)
    config = tmp_path / 'kd_fpn_all_terms.py'
    config.write_text(f"_base_ = [{FPN_KD!r}]\n"
                      "pairs = [dict(student=level, teacher=level) for level in range(5)]\n"
                      "model = dict(distill=dict(terms=[dict(type=term, pairs=pairs) for term in (\n"
                      "    'AttentionTransferTerm', 'ChannelWiseDistillationTerm', 'PearsonDistillationTerm')]))\n")
    work_dir = str(workspace / 'kd_fpn')
    out = run_tool('train.py', [str(config), '--work-dir', work_dir, '--cfg-options',
                                f"model.teacher.checkpoint={teacher_dir / 'epoch_1.pth'}", *ONE_EPOCH], cwd=workspace)
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox',
                'loss_at', 'loss_cwd', 'loss_pkd'):
        assert f'{key}: ' in out, f'{key} not logged'
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    assert not any(key.startswith('teacher') for key in state)
    hint_adapters = {key.split('.weight')[0] for key in state if key.startswith('distill') and key.endswith('weight')}
    assert len(hint_adapters) == 5, sorted(hint_adapters)  # one 1x1 adapter per level; 64 = 64 channels: no others


def test_an_ensemble_of_teachers_trains_through_the_tools(workspace, teacher_checkpoint, tmp_path):
    """A list of two teachers (checkpoints given per teacher on the command line): each is evaluated before
    training, the hint has one adapter per teacher, the saved state holds no teacher."""
    config = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-ensemble-vgg16-w0.25-vggm-w0.25_12e_synthetic-coco.py')
    work_dir = str(workspace / 'kd_ensemble')
    # the VGG-M teacher is the VGG16 run here too: a different architecture needs its own trained checkpoint,
    # so the second teacher's config is set to the first's (a list entry replaced through --cfg-options)
    out = run_tool('train.py', [config, '--work-dir', work_dir, '--cfg-options',
                                f'model.teacher.0.checkpoint={teacher_checkpoint}',
                                f'model.teacher.1.checkpoint={teacher_checkpoint}',
                                f"model.teacher.1.config={osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py')}",
                                'model.teacher.1.weight=3.0', 'model.distill.ensemble_reg=best', *ONE_EPOCH], cwd=workspace)
    assert 'teacher0: coco/bbox_mAP' in out and 'teacher1: coco/bbox_mAP' in out
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox'):
        assert f'{key}: ' in out, f'{key} not logged'
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    assert not any(key.startswith('teacher') for key in state)
    assert any(key.startswith('distill_terms.hint_teacher1.adapters.0') for key in state)


def test_labeled_and_unlabeled_images_train_with_the_teachers_pseudo_labels(workspace, teacher_checkpoint):
    """The white-box teacher labels the unlabeled folder on the fly (1 labeled : 4 unlabeled per batch)."""
    data = workspace / 'data' / 'synthetic'
    if not (data / 'unlabeled').exists():
        shutil.copytree(data / 'coco' / 'val', data / 'unlabeled')
    config = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_unlabeled_12e_synthetic-coco.py')
    options = [o for o in ONE_EPOCH if not o.startswith('train_dataloader.batch_size')]
    out = run_tool('train.py', [config, '--work-dir', str(workspace / 'kd_unlabeled'), '--cfg-options',
                                f'model.teacher.checkpoint={teacher_checkpoint}', 'model.pseudo_label_thr=0.3',
                                *options], cwd=workspace)
    assert 'Epoch(train) [1][6/6]' in out  # an epoch: the 6 labeled images, one per batch of 5
    assert 'loss_rcn_kd_cls: ' in out and 'loss_hint: ' in out
