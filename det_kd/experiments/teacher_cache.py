"""Whether the distilled runs of an experiment may read their teacher from a cache, and the options that make
them (:class:`~det_kd.models.distillation.teachers.cached.CachedTeacher`: the same losses, the teacher's
forward once per image and augmentation)."""
from typing import List


def teacher_cache_refusal(distilled_config: str) -> str:
    """Why ``distilled_config``'s runs must use the live teacher ('' if they may use a cache): a teacher that
    is not one network, or a training pipeline (of any of its datasets) with a transform the cache key cannot
    capture."""
    from mmengine.config import Config

    from det_kd.models.distillation.teachers.cached import uncacheable_transforms
    cfg = Config.fromfile(distilled_config)
    teacher = cfg.model.get('teacher')
    if not isinstance(teacher, dict) or 'type' in teacher or 'results' in teacher:
        return 'the teacher is not one network (an ensemble, a results file or another teacher kind)'

    def pipeline_types(dataset) -> List[str]:  # every leaf dataset's transforms (a ConcatDataset's too)
        if not isinstance(dataset, dict):
            return []
        inner = [dataset.get('dataset'), *(dataset.get('datasets') or [])]
        return [step['type'] for step in dataset.get('pipeline') or []] + sum(map(pipeline_types, inner), [])

    refused = uncacheable_transforms(dict.fromkeys(pipeline_types(cfg.train_dataloader.dataset)))
    if refused:
        return f'the training pipeline has {", ".join(refused)}, which a cache key cannot capture'
    return ''


def teacher_cache_options(cache_dir: str) -> List[str]:
    """The ``--cfg-options`` of a distilled run that reads its teacher's outputs from ``cache_dir`` (one folder
    per teacher checkpoint: the runs of several students and seeds distilled from it share it)."""
    return ['model.teacher.type=CachedTeacher', f'model.teacher.cache_dir={cache_dir}']
