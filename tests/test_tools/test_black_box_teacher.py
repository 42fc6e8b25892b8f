"""A black-box teacher through the tools: tools/pseudo_label.py writes the file, a student trains from it
(labeled + unlabeled images) with no teacher weights, and the saved student tests with its plain config."""
import os.path as osp
import shutil

import torch
from conftest import ONE_EPOCH, REPO, TEACHER_CONFIG, run_tool
from mmdet.utils import register_all_modules
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_project
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.dataset import pseudo_collate

from det_kd.engine.pseudo_labels import inference_pipeline, predict_with_class_probs
from det_kd.models.distillation.teacher import build_teacher
from det_kd.models.distillation.teacher_results import TeacherResults

UNLABELED_KD = osp.join(REPO, 'configs', 'kd', 'blackbox_alexnet-w0.25-vgg16-w0.25_unlabeled_12e_synthetic-coco.py')
STUDENT = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py')


def test_pseudo_labels_round_trip_and_a_student_trains_from_them_alone(workspace, teacher_checkpoint):
    data = workspace / 'data' / 'synthetic'
    unlabeled = data / 'unlabeled'
    if not unlabeled.exists():  # the validation images play the images nobody annotated
        shutil.copytree(data / 'coco' / 'val', unlabeled)
    out = workspace / 'teacher_results.json'
    log = run_tool('pseudo_label.py', [TEACHER_CONFIG, teacher_checkpoint, '--images', str(data), '--out', str(out),
                                       '--score-thr', '0.0', '--batch-size', '3', '--no-progress', '--force'],
                   cwd=workspace)
    assert 'detections on 14 images' in log  # 6 train (coco/train), 4 val (coco/val), 4 copies (unlabeled)
    run_tool('pseudo_label.py', [TEACHER_CONFIG, teacher_checkpoint, '--images', str(data), '--out', str(out)],
             cwd=workspace, returncode=1)  # never overwrites without --force

    # Round trip: what the file holds is what the teacher predicts on the image.
    register_all_modules(init_default_scope=True)
    results = TeacherResults(str(out))
    cfg = Config.fromfile(TEACHER_CONFIG)
    teacher = build_teacher(cfg.model, teacher_checkpoint)
    image = str(unlabeled / sorted(p.name for p in unlabeled.iterdir())[0])
    expected = predict_with_class_probs(teacher, pseudo_collate([inference_pipeline(cfg)(dict(img_path=image, img_id=0))]))[0]
    stored = results.get(image)
    assert len(stored.boxes) == len(expected['bboxes']) > 0
    assert torch.allclose(torch.from_numpy(stored.boxes), expected['bboxes'], atol=1e-3)
    assert torch.allclose(torch.from_numpy(stored.class_probs), expected['class_probs'], atol=1e-6)
    assert stored.labels.tolist() == expected['labels'].tolist()

    # The mixed loader: 1 labeled + 4 unlabeled per batch; unlabeled samples bring no boxes of their own and get
    # the teacher's detections above the threshold, in the augmented frame.
    kd_cfg = Config.fromfile(UNLABELED_KD)
    kd_cfg.model.teacher.results = str(out)
    kd_cfg.train_dataloader.dataset.datasets[0].data_root = str(data / 'coco') + '/'
    kd_cfg.train_dataloader.dataset.datasets[1].data_root = str(data) + '/'
    loader = Runner.build_dataloader(kd_cfg.train_dataloader, seed=0)
    model = MODELS.build(kd_cfg.model)
    batch = next(iter(loader))
    unlabeled_samples = [s for s in batch['data_samples'] if s.metainfo.get('unlabeled')]
    assert len(unlabeled_samples) == 4 and all(len(s.gt_instances) == 0 for s in unlabeled_samples)
    assert len(batch['data_samples'][0].gt_instances) > 0  # the labeled image keeps its annotations
    pseudo = model.distiller.step(torch.zeros(len(batch['data_samples']), 3, 1, 1), batch['data_samples'], 1.0).samples
    for sample, labelled in zip(batch['data_samples'], pseudo):
        if not sample.metainfo.get('unlabeled'):
            continue
        detections = results.get(sample.metainfo['img_path'])
        keep = detections.scores >= model.pseudo_label_thr
        expected = bbox_project(torch.from_numpy(detections.boxes[keep]),
                                torch.as_tensor(sample.metainfo['homography_matrix'], dtype=torch.float32),
                                sample.metainfo['img_shape'][:2])
        assert torch.allclose(labelled.gt_instances.bboxes, expected)
        assert labelled.gt_instances.labels.tolist() == detections.labels[keep].tolist()

    # A student from labeled + unlabeled images and the file alone.
    work_dir = str(workspace / 'kd_black_box')
    options = [o for o in ONE_EPOCH if not o.startswith('train_dataloader.batch_size')]
    log = run_tool('train.py', [UNLABELED_KD, '--work-dir', work_dir, '--cfg-options', f'model.teacher.results={out}',
                                'model.teacher.pseudo_label_thr=0.3', *options], cwd=workspace)
    assert 'loss_rcn_kd_cls: ' in log
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    run_tool('test.py', [STUDENT, osp.join(work_dir, 'epoch_1.pth'), '--work-dir', str(workspace / 'kd_bb_test')],
             cwd=workspace)
    assert not any(key.startswith(('teacher', 'distill')) for key in state)
