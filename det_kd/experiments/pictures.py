"""What distillation changed, as a picture: ground truth | teacher | baseline | distilled on the same validation
images, drawn with MMDetection's own ``DetLocalVisualizer`` (class names and scores on every box, one score
threshold for all three models)."""
import os
import os.path as osp
import warnings
from typing import Dict, List, Mapping, Sequence, Tuple

import mmcv
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config

#: Column titles of the picture, in order, for the roles of the models drawn.
TITLES = dict(teacher='teacher', baseline='baseline student', distilled='distilled student')


def spread_indices(num_images: int, count: int) -> List[int]:
    """``count`` indices spread evenly over ``num_images`` images (all of them when there are fewer)."""
    if num_images <= count:
        return list(range(num_images))
    return sorted({int(round(i)) for i in np.linspace(0, num_images - 1, count)})


def _test_images(test_config: str, count: int) -> Tuple[List[dict], tuple, object]:
    """The data infos of ``count`` test images spread over ``test_config``'s test set, its classes and
    palette."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(test_config)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    infos = [dataset.get_data_info(i) for i in spread_indices(len(dataset), count)]
    return infos, tuple(dataset.metainfo['classes']), dataset.metainfo.get('palette')


def _ground_truth_sample(info: dict):
    """A ``DetDataSample`` with the image's annotated boxes (ignored ones left out) as ``gt_instances``."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    kept = [i for i in info.get('instances', []) if not i.get('ignore_flag', 0)]
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([i['bbox'] for i in kept], dtype=torch.float32).reshape(-1, 4),
        labels=torch.tensor([i['bbox_label'] for i in kept], dtype=torch.int64))
    return sample


def draw_predictions(models: Mapping[str, Tuple[str, str]], test_config: str, out_dir: str, num_images: int = 4,
                     score_thr: float = 0.3, title: str = '') -> str:
    """Draws ``num_images`` validation images (spread over the test set) as rows of ground truth and each
    model's detections; writes ``out_dir/predictions.png`` and one row per image under
    ``out_dir/predictions/``. Returns the path of ``predictions.png``.

    Args:
        models (Mapping[str, tuple]): Role (``teacher``, ``baseline``, ``distilled``) to ``(config,
            checkpoint)``, drawn in this order.
        test_config (str): Config whose test set is drawn (the baseline's run config).
        score_thr (float): Detections below this score are not drawn. Defaults to 0.3.
        title (str): Title above the picture.
    """
    from mmdet.apis import inference_detector, init_detector
    from mmdet.visualization import DetLocalVisualizer

    infos, classes, palette = _test_images(test_config, num_images)
    detectors = {role: init_detector(config, checkpoint, device='cpu') for role, (config, checkpoint) in
                 models.items()}
    visualizer = DetLocalVisualizer(name=f'det_kd_predictions_{id(detectors)}')
    # a dataset class's own palette (VOC's 20 colours, COCO's 80) may be shorter than the user's classes
    visualizer.dataset_meta = dict(classes=classes,
                                   palette=palette if palette and len(palette) >= len(classes) else 'random')

    def panel(name: str, image: np.ndarray, sample, ground_truth: bool) -> np.ndarray:
        with warnings.catch_warnings():  # a box reaching the image border is drawn clipped, as it should be
            warnings.filterwarnings('ignore', message='Warning: The (bbox|polygon) is out of bounds')
            visualizer.add_datasample(name, image, sample, draw_gt=ground_truth, draw_pred=not ground_truth,
                                      pred_score_thr=score_thr)
        return visualizer.get_image()

    rows: List[Dict[str, np.ndarray]] = []
    os.makedirs(osp.join(out_dir, 'predictions'), exist_ok=True)
    for info in infos:
        image = mmcv.imread(info['img_path'], channel_order='rgb')
        row = {'ground truth': panel('gt', image, _ground_truth_sample(info), True)}
        for role, detector in detectors.items():
            row[TITLES.get(role, role)] = panel(role, image, inference_detector(detector, info['img_path']), False)
        rows.append(row)
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        mmcv.imwrite(mmcv.rgb2bgr(np.hstack(list(row.values()))), osp.join(out_dir, 'predictions', f'{stem}.png'))
    path = osp.join(out_dir, 'predictions.png')
    _tile(rows, path, f'{title}\nscore threshold {score_thr}: boxes with class name and score'.strip())
    return path


def _tile(rows: Sequence[Dict[str, np.ndarray]], path: str, title: str) -> None:
    """One figure: a row per image, a column per panel, the panel names above the first row."""
    height, width = rows[0]['ground truth'].shape[:2]
    columns = len(rows[0])
    panel_inches = 3.2
    figure = Figure(figsize=(panel_inches * columns, panel_inches * height / width * len(rows) + 0.8))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for r, row in enumerate(rows):
        for c, (name, image) in enumerate(row.items()):
            axes[r][c].imshow(image)
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(name, fontsize=11)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
