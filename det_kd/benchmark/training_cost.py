"""Training cost of distillation: the plain student step, the teacher's forward and the distillation step.

Three calls are timed side by side, interleaved iteration by iteration, on one fixed batch:

(a) ``student_step``: ``train_step`` (data preprocessor, forward and losses, backward, optimizer step) of
    the plain student (the distillation config's student, as a ``FasterRCNN``);
(b) ``teacher_forward``: the teacher's ``forward`` itself (teacher features, RPN maps on the student's anchor
    grid and the RoI head on the RoIs a student step sampled: the request a distillation step makes), on the
    preprocessed batch;
(c) ``distillation_step``: ``train_step`` of the ``KDFasterRCNN`` built from the same config.

With an ideal implementation (c) costs (a) + (b): the student's own step plus one teacher forward, no
more. :func:`overhead_ratios` gives ``median(c) / (median(a) + median(b))`` and two variants.
:func:`step_breakdown` times the pieces of each step to show where any excess goes.

The batch is the config's real train pipeline (``LoadImageFromFile``, ``LoadAnnotations``, ``Resize``,
``RandomFlip``, ``PackDetInputs``...) run on rendered synthetic scenes written to a temporary folder, and
collated as the runner's ``pseudo_collate`` does; no dataset files are needed.
"""
import contextlib
import copy
import os.path as osp
import statistics
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple
from unittest import mock

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper, build_optim_wrapper
from torch import nn

from mmdet.registry import MODELS

from ..models.detectors import DISTILLATION_ONLY_PREFIXES, KDFasterRCNN
from ..models.distillation.student_record import StudentRecord
from ..models.distillation.teachers import TeacherRequest
from ..models.distillation.teacher import load_teacher_model_config, single_teacher
from ..synthetic import SceneConfig, generate_scene
from .latency import LatencySummary, Synchronize, device_synchronizer, time_interleaved, timed_call
from .memory import PeakMemoryMeter
from .models import drop_pretrained_init, replace_roi_pool

#: The three timed calls, in the order they run within an iteration.
STEPS = ('student_step', 'teacher_forward', 'distillation_step')
#: With a cached teacher (``cache_dir``), two more: the same with a ``CachedTeacher`` reading its cache.
CACHED_STEPS = ('cached_teacher_forward', 'cached_distillation_step')
#: The teacher-forward call as it is timed inside the distillation step's breakdown.
TEACHER_FORWARD_SECTION = 'teacher forward (teacher kind forward)'


# ------------------------------------------------------------------ configs
def find_train_pipeline(cfg: Config) -> list:
    """The train pipeline of ``cfg.train_dataloader.dataset``, looking through wrapper datasets.

    Raises:
        KeyError: If the config has no train dataloader or no dataset in it has a ``pipeline``.
    """
    dataset = cfg.get('train_dataloader', {}).get('dataset')
    while isinstance(dataset, dict):
        if 'pipeline' in dataset:
            return dataset['pipeline']
        dataset = dataset.get('dataset', (dataset.get('datasets') or [None])[0])
    raise KeyError(f'{cfg.filename}: no train_dataloader.dataset with a `pipeline`')


def _resize_steps(pipeline: Sequence[dict]) -> List[dict]:
    return [step for step in pipeline if step.get('type') == 'Resize']


def train_input_size(pipeline: Sequence[dict]) -> Tuple[int, int]:
    """``(height, width)`` of the first ``Resize`` of a train pipeline (its ``scale`` is ``(w, h)``).

    Raises:
        ValueError: If the pipeline has no ``Resize`` with a fixed ``scale``.
    """
    for step in _resize_steps(pipeline):
        if isinstance(step.get('scale'), (tuple, list)):
            width, height = step['scale']
            return int(height), int(width)
    raise ValueError('the train pipeline has no Resize with a fixed scale: pass --input-size')


def set_train_input_size(pipeline: Sequence[dict], height: int, width: int) -> None:
    """Sets ``scale=(width, height)`` on every ``Resize`` of ``pipeline``, in place."""
    for step in _resize_steps(pipeline):
        step['scale'] = (width, height)


def student_model_config(kd_model: ConfigDict, student_model: Optional[ConfigDict] = None) -> ConfigDict:
    """The plain student's model config: ``student_model`` if given, else ``kd_model`` as a ``FasterRCNN``.

    Args:
        kd_model (ConfigDict): The distillation config's ``model`` (type ``KDFasterRCNN``).
        student_model (ConfigDict, optional): A plain detector's ``model`` to use as the student instead.
            Defaults to None.
    """
    if student_model is not None:
        return copy.deepcopy(student_model)
    student = copy.deepcopy(kd_model)
    student.pop('teacher', None)
    student.pop('distill', None)
    student['type'] = 'FasterRCNN'
    return student


def teacher_model_config(teacher_config, device: str = 'cpu', random_init: bool = False) -> ConfigDict:
    """The teacher's ``model`` config, inline, made runnable where needed.

    Args:
        teacher_config (str | dict): ``model.teacher.config`` (see
            :func:`det_kd.models.distillation.teacher.load_teacher_model_config`).
        device (str): On CPU, ``RoIPool`` becomes max ``RoIAlign`` (:func:`replace_roi_pool`).
            Defaults to 'cpu'.
        random_init (bool): Drop ``Pretrained`` init configs (the random teacher's ``init_weights`` would
            download them). Defaults to False.
    """
    model = copy.deepcopy(load_teacher_model_config(teacher_config))
    if torch.device(device).type == 'cpu':
        replace_roi_pool(model)
    if random_init:
        drop_pretrained_init(model)
    return model


def distiller_model_config(kd_model: ConfigDict,
                           student_model: ConfigDict,
                           teacher_model: ConfigDict,
                           random_teacher: bool = False) -> ConfigDict:
    """A ``KDFasterRCNN`` config: ``student_model``'s fields with ``kd_model``'s teacher and distillation.

    Args:
        kd_model (ConfigDict): The distillation config's ``model``.
        student_model (ConfigDict): From :func:`student_model_config`.
        teacher_model (ConfigDict): From :func:`teacher_model_config` (inlined as ``teacher.config``).
        random_teacher (bool): Randomly initialised teacher (``checkpoint=None``,
            ``allow_random_init=True``); speed does not depend on weights. Defaults to False.
    """
    teacher = ConfigDict(copy.deepcopy(single_teacher(kd_model, 'tools/benchmark_training.py')), config=teacher_model)
    if random_teacher:
        teacher.update(checkpoint=None, allow_random_init=True)
    distiller = copy.deepcopy(student_model)
    distiller.update(type='KDFasterRCNN', teacher=teacher)
    if kd_model.get('distill') is not None:
        distiller['distill'] = copy.deepcopy(kd_model['distill'])
    return distiller


# ------------------------------------------------------------------ data
def synthetic_train_batch(pipeline: Sequence[dict],
                          batch_size: int,
                          height: int,
                          width: int,
                          image_dir: str,
                          seed: int = 0) -> dict:
    """A training batch: rendered synthetic scenes through the config's train pipeline, collated.

    Args:
        pipeline (Sequence[dict]): Train pipeline configs (starting with ``LoadImageFromFile``).
        batch_size (int): Images in the batch.
        height (int): Rendered image height.
        width (int): Rendered image width.
        image_dir (str): Where the PNG files are written.
        seed (int): Scene seed. Defaults to 0.

    Returns:
        dict: ``{'inputs': [...], 'data_samples': [...]}`` as ``pseudo_collate`` gives it to ``train_step``.
    """
    transforms = Compose(copy.deepcopy(list(pipeline)))
    items = []
    for index in range(batch_size):
        scene = generate_scene(seed, 'train', index, SceneConfig(width=width, height=height))
        path = osp.join(image_dir, f'{index:06d}.png')
        scene.save_image(path)
        instances = [dict(bbox=list(obj.box), bbox_label=obj.label, ignore_flag=0) for obj in scene.objects]
        instances += [
            dict(bbox=list(region.box), bbox_label=region.label, ignore_flag=1)
            for region in scene.ignore_regions
        ]
        info = dict(img_path=path, img_id=index, height=height, width=width, instances=instances)
        items.append(transforms(info))
    return pseudo_collate(items)


# ------------------------------------------------------------------ models and steps
@dataclass
class TrainingCostSetup:
    """The two models, their optimizers and the fixed inputs of the three timed calls.

    Args:
        student (nn.Module): The plain student, in train mode.
        distiller (KDFasterRCNN): The distillation detector (student with the same initial weights).
        student_optim (OptimWrapper): The student's optimizer wrapper.
        distiller_optim (OptimWrapper): The distiller's optimizer wrapper.
        batch (dict): The collated training batch.
        request (TeacherRequest): What the teacher answers in (b): the preprocessed batch and what a student
            step recorded (its RPN maps and anchor targets, its sampled RoIs and their targets).
        cached (KDFasterRCNN, optional): The distiller with a ``CachedTeacher`` of the same weights (same
            student and distillation weights as ``distiller``), and ``cached_optim`` its optimizer wrapper.
    """

    student: nn.Module
    distiller: KDFasterRCNN
    student_optim: OptimWrapper
    distiller_optim: OptimWrapper
    batch: dict
    request: TeacherRequest
    cached: Optional[KDFasterRCNN] = None
    cached_optim: Optional[OptimWrapper] = None


def copy_student_weights(student: nn.Module, distiller: KDFasterRCNN) -> None:
    """Loads the student's weights into the distiller (everything but the distillation-only modules).

    Raises:
        ValueError: If the two differ beyond :data:`DISTILLATION_ONLY_PREFIXES`.
    """
    missing, unexpected = distiller.load_state_dict(student.state_dict(), strict=False)
    missing = [key for key in missing if not key.startswith(DISTILLATION_ONLY_PREFIXES)]
    if missing or unexpected:
        raise ValueError(f'student and distiller differ: missing {missing[:8]}, unexpected {unexpected[:8]}')


def record_teacher_request(student: nn.Module, optim_wrapper: OptimWrapper, batch: dict,
                           distiller: KDFasterRCNN) -> TeacherRequest:
    """Runs one student training step and returns what the distiller's teacher would be asked on it."""
    with StudentRecord(student, [], distiller.distiller.uses_rpn, distiller.distiller.uses_rcn) as record:
        student.train_step(batch, optim_wrapper)
    with torch.no_grad():
        teacher_batch = distiller.data_preprocessor(batch, True)
    return distiller.distiller.teacher_request(teacher_batch['inputs'], teacher_batch['data_samples'], record)


def build_training_setup(kd_cfg: Config,
                         student_cfg: Optional[Config] = None,
                         teacher_config: Optional[str] = None,
                         random_teacher: bool = False,
                         batch: Optional[dict] = None,
                         device: str = 'cpu',
                         seed: int = 0,
                         cache_dir: Optional[str] = None,
                         cache_dtype: str = 'float32') -> TrainingCostSetup:
    """Builds the student and the distiller with the same initial weights, and the fixed inputs.

    Args:
        kd_cfg (Config): A distillation config (``model.type == 'KDFasterRCNN'``); its ``optim_wrapper``
            serves both models.
        student_cfg (Config, optional): A plain detector config whose ``model`` replaces the student part.
            Defaults to None (the distillation config's student).
        teacher_config (str, optional): Replaces ``model.teacher.config``. Defaults to None.
        random_teacher (bool): See :func:`distiller_model_config`. Defaults to False.
        batch (dict): From :func:`synthetic_train_batch`.
        device (str): Where the models run. On CPU ``RoIPool`` layers become max ``RoIAlign``.
            Defaults to 'cpu'.
        seed (int): Seed of the initial weights. Defaults to 0.
        cache_dir (str, optional): Also build :attr:`TrainingCostSetup.cached`, whose ``CachedTeacher`` (the
            live teacher's weights, saved to ``<cache_dir>/teacher.pth``) caches in ``<cache_dir>/cache``.
            The batch's image files must exist while it runs (the cache keys entries by them).
        cache_dtype (str): The cache's storage dtype. Defaults to 'float32'.

    Raises:
        ValueError: If ``kd_cfg`` is not a ``KDFasterRCNN`` config or ``batch`` is missing.
    """
    if kd_cfg.model.get('type') != 'KDFasterRCNN':
        raise ValueError(f'{kd_cfg.filename}: model.type is {kd_cfg.model.get("type")!r}, expected a '
                         'KDFasterRCNN distillation config')
    if batch is None:
        raise ValueError('build_training_setup needs a batch (see synthetic_train_batch)')
    student_model = student_model_config(kd_cfg.model, student_cfg.model if student_cfg else None)
    if torch.device(device).type == 'cpu':
        replace_roi_pool(student_model)
    drop_pretrained_init(student_model)
    teacher_model = teacher_model_config(
        teacher_config or single_teacher(kd_cfg.model, 'tools/benchmark_training.py').config, device, random_teacher)
    torch.manual_seed(seed)
    student = MODELS.build(student_model)
    student.init_weights()
    distiller_cfg = distiller_model_config(kd_cfg.model, student_model, teacher_model, random_teacher)
    distiller = MODELS.build(distiller_cfg)
    copy_student_weights(student, distiller)
    cached = None
    if cache_dir is not None:
        cached = MODELS.build(cached_distiller_config(distiller_cfg, distiller, cache_dir, cache_dtype))
        cached.load_state_dict(distiller.state_dict())
        cached.to(device).train()
    student.to(device).train()
    distiller.to(device).train()
    student_optim = build_optim_wrapper(student, copy.deepcopy(kd_cfg.optim_wrapper))
    distiller_optim = build_optim_wrapper(distiller, copy.deepcopy(kd_cfg.optim_wrapper))
    return TrainingCostSetup(
        student=student,
        distiller=distiller,
        student_optim=student_optim,
        distiller_optim=distiller_optim,
        batch=batch,
        request=record_teacher_request(student, student_optim, batch, distiller),
        cached=cached,
        cached_optim=build_optim_wrapper(cached, copy.deepcopy(kd_cfg.optim_wrapper)) if cached else None)


def cached_distiller_config(distiller_cfg: ConfigDict, distiller: KDFasterRCNN, cache_dir: str,
                            dtype: str = 'float32') -> ConfigDict:
    """``distiller_cfg`` with a ``CachedTeacher`` of ``distiller``'s teacher weights (saved to
    ``<cache_dir>/teacher.pth``: a random teacher gets a checkpoint to key the cache by) caching in
    ``<cache_dir>/cache``."""
    checkpoint = osp.join(cache_dir, 'teacher.pth')
    torch.save(dict(state_dict=distiller.distiller.teacher.network.state_dict()), checkpoint)
    cfg = copy.deepcopy(distiller_cfg)
    teacher = {key: value for key, value in cfg.teacher.items() if key != 'allow_random_init'}
    cfg.teacher = ConfigDict(teacher, type='CachedTeacher', checkpoint=checkpoint,
                             cache_dir=osp.join(cache_dir, 'cache'), dtype=dtype)
    return cfg


def step_functions(setup: TrainingCostSetup) -> Dict[str, Callable[[], object]]:
    """The three timed calls of :data:`STEPS`, without arguments."""

    def student_step() -> dict:
        return setup.student.train_step(setup.batch, setup.student_optim)

    def teacher_forward() -> dict:
        # In the distiller's optimizer context, as inside its train_step (fp16 autocast under AMP).
        with setup.distiller_optim.optim_context(setup.distiller):
            return setup.distiller.distiller.teacher.forward(setup.request)

    def distillation_step() -> dict:
        return setup.distiller.train_step(setup.batch, setup.distiller_optim)

    steps = dict(student_step=student_step, teacher_forward=teacher_forward, distillation_step=distillation_step)
    if setup.cached is not None:
        def cached_teacher_forward() -> dict:
            with setup.cached_optim.optim_context(setup.cached):
                return setup.cached.distiller.teacher.forward(setup.request)

        def cached_distillation_step() -> dict:
            return setup.cached.train_step(setup.batch, setup.cached_optim)

        steps.update(cached_teacher_forward=cached_teacher_forward, cached_distillation_step=cached_distillation_step)
    return steps


# ------------------------------------------------------------------ measurement
def overhead_ratios(times: Mapping[str, Sequence[float]]) -> Dict[str, float]:
    """``(c) / ((a) + (b))`` from the interleaved per-iteration times of :data:`STEPS`.

    Returns:
        dict: ``median`` (of the medians, the headline number), ``mean`` (of the means) and ``paired``
        (median over iterations of ``c[i] / (a[i] + b[i])``, the three calls made back to back);
        ``kd_over_student``: ``median(c) / median(a)``; with :data:`CACHED_STEPS` timed,
        ``cached_kd_over_student`` (the cached distillation step over the student step) and its per-iteration
        median ``cached_kd_over_student_paired``.
    """
    a, b, c = (times[step] for step in STEPS)
    ratios = dict(
        median=statistics.median(c) / (statistics.median(a) + statistics.median(b)),
        mean=statistics.fmean(c) / (statistics.fmean(a) + statistics.fmean(b)),
        paired=statistics.median(ci / (ai + bi) for ai, bi, ci in zip(a, b, c)),
        kd_over_student=statistics.median(c) / statistics.median(a))
    if 'cached_distillation_step' in times:
        cached = times['cached_distillation_step']
        ratios.update(cached_kd_over_student=statistics.median(cached) / statistics.median(a),
                      cached_kd_over_student_paired=statistics.median(ci / ai for ai, ci in zip(a, cached)))
    return ratios


def measure_training_cost(setup: TrainingCostSetup,
                          warmup: int,
                          runs: int,
                          device: str = 'cpu',
                          progress: bool = True) -> Dict[str, object]:
    """Times (a), (b) and (c) interleaved, then measures each call's peak memory in one more iteration.

    Args:
        setup (TrainingCostSetup): From :func:`build_training_setup`.
        warmup (int): Untimed iterations.
        runs (int): Timed iterations.
        device (str): The models' device. Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``times`` (name -> seconds), ``summaries`` (name -> :class:`LatencySummary`), ``peak_memory``
        (name -> bytes above the call's start, or None), ``memory_method`` and ``ratios``
        (:func:`overhead_ratios`).
    """
    fns = step_functions(setup)
    times = time_interleaved(fns, warmup, runs, synchronize=device_synchronizer(device), progress=progress)
    meter = PeakMemoryMeter(device)
    return dict(
        times=times,
        summaries={name: LatencySummary.from_times(values) for name, values in times.items()},
        peak_memory={name: meter.measure(fn) for name, fn in fns.items()},
        memory_method=meter.method,
        ratios=overhead_ratios(times))


# ------------------------------------------------------------------ breakdown
@contextlib.contextmanager
def timed_sections(targets: Mapping[str, Tuple[object, str]],
                   synchronize: Synchronize = None) -> Iterator[Dict[str, List[float]]]:
    """Times every call of ``getattr(obj, attr)`` for each ``name -> (obj, attr)`` inside the block.

    The attribute is replaced by a timing wrapper (on the instance or module; the class is untouched)
    and restored on exit. Nested sections are timed inclusively.

    Args:
        targets (Mapping[str, tuple[object, str]]): Section name -> (owner, attribute name).
        synchronize (callable, optional): See :func:`~det_kd.benchmark.latency.timed_call`.
            Defaults to None.

    Yields:
        dict[str, list[float]]: Name -> seconds of each call, filled while the block runs.
    """
    calls: Dict[str, List[float]] = {name: [] for name in targets}

    def timing_wrapper(name: str, original: Callable) -> Callable:

        def wrapper(*args, **kwargs):
            result = []
            calls[name].append(
                timed_call(lambda: result.append(original(*args, **kwargs)), synchronize=synchronize))
            return result[0]

        return wrapper

    with contextlib.ExitStack() as stack:
        for name, (obj, attr) in targets.items():
            stack.enter_context(mock.patch.object(obj, attr, timing_wrapper(name, getattr(obj, attr))))
        yield calls


def _train_step_sections(model: nn.Module, optim_wrapper: OptimWrapper) -> Dict[str, Tuple[object, str]]:
    """Sections of a training step, shared by (a) and (c); names are indented under their parent."""
    return {
        'data preprocessor': (model.data_preprocessor, 'forward'),
        'forward + losses (loss)': (model, 'loss'),
        '  student backbone (extract_feat)': (model, 'extract_feat'),
        '  student RPN (rpn_head.loss_and_predict)': (model.rpn_head, 'loss_and_predict'),
        '  student RoI head (roi_head.loss)': (model.roi_head, 'loss'),
        'parse_losses': (model, 'parse_losses'),
        'backward + optimizer step (update_params)': (optim_wrapper, 'update_params'),
    }


def _teacher_sections(distiller: KDFasterRCNN) -> Dict[str, Tuple[object, str]]:
    """Sections of the teacher's ``forward``, in (b) and inside (c)'s loss."""
    teacher = distiller.teacher
    return {
        TEACHER_FORWARD_SECTION: (distiller.distiller.teacher, 'forward'),
        '    teacher backbone (extract_feat)': (teacher, 'extract_feat'),
        '    teacher RPN head (forward)': (teacher.rpn_head, 'forward'),
        '    teacher RoI head (_bbox_forward)': (teacher.roi_head, '_bbox_forward'),
        '    teacher RPN on the student\'s anchors (on_student_grid)': (distiller.distiller.teacher, 'on_student_grid'),
    }


#: Every distillation term of ``KDFasterRCNN.distill_terms`` is timed as ``'  term <name> (<type>)'``.
TERM_SECTION_PREFIX = '  term '


def is_distillation_section(name: str) -> bool:
    """Whether a section of (c) is distillation work the student step (a) does not do (the terms)."""
    return name.startswith(TERM_SECTION_PREFIX)


def _distillation_term_sections(distiller: KDFasterRCNN) -> Dict[str, Tuple[object, str]]:
    """The distillation terms inside (c)'s loss: each term's forward."""
    sections = {}
    for name, term in distiller.distill_terms.items():
        sections[f'{TERM_SECTION_PREFIX}{name} ({type(term).__name__})'] = (term, 'forward')
    return sections


def breakdown_sections(setup: TrainingCostSetup) -> Dict[str, Dict[str, Tuple[object, str]]]:
    """Step name -> the sections timed inside it (see :func:`step_breakdown`)."""
    return {
        'student_step': _train_step_sections(setup.student, setup.student_optim),
        'teacher_forward': _teacher_sections(setup.distiller),
        'distillation_step': {
            **_train_step_sections(setup.distiller, setup.distiller_optim),
            **_teacher_sections(setup.distiller),
            **_distillation_term_sections(setup.distiller),
        },
    }


def step_breakdown(setup: TrainingCostSetup, runs: int, device: str = 'cpu') -> Dict[str, Dict[str, float]]:
    """Mean milliseconds per step of each section of (a), (b) and (c), the three interleaved per round.

    Every call of a section's method is timed by a wrapper (CUDA synchronised around it), so the steps
    are a little slower here than in :func:`measure_training_cost`.

    Args:
        setup (TrainingCostSetup): From :func:`build_training_setup`.
        runs (int): Rounds.
        device (str): The models' device. Defaults to 'cpu'.

    Returns:
        dict: Step name -> ``{'total': ms, section: ms, ...}``.
    """
    synchronize = device_synchronizer(device)
    sections = breakdown_sections(setup)
    totals = {step: dict.fromkeys(['total', *sections[step]], 0.0) for step in STEPS}
    functions = step_functions(setup)
    for _ in range(runs):
        for step in STEPS:  # the cached calls are timed, not broken down
            with timed_sections(sections[step], synchronize) as calls:
                totals[step]['total'] += timed_call(functions[step], synchronize=synchronize)
            for name, seconds in calls.items():
                totals[step][name] += sum(seconds)
    return {
        step: {
            name: 1e3 * value / runs
            for name, value in values.items()
        }
        for step, values in totals.items()
    }


def overhead_breakdown(breakdown: Mapping[str, Mapping[str, float]]) -> Dict[str, float]:
    """Splits ``(c) - (a) - (b)`` (ms per step, from :func:`step_breakdown`) into where it is spent.

    Returns:
        dict: ``teacher forward`` ((c)'s teacher forward minus (b)), ``distillation terms`` (all of them
        are extra), ``student forward + losses`` ((c)'s loss without teacher and terms, minus (a)'s loss),
        ``backward + optimizer step``, ``data preprocessor``, ``other`` (the rest) and ``total``.
    """
    a, b, c = (breakdown[step] for step in STEPS)
    loss = 'forward + losses (loss)'
    update = 'backward + optimizer step (update_params)'
    terms = sum(value for name, value in c.items() if is_distillation_section(name))
    parts = {
        'teacher forward': c[TEACHER_FORWARD_SECTION] - b[TEACHER_FORWARD_SECTION],
        'distillation terms': terms,
        'student forward + losses': c[loss] - c[TEACHER_FORWARD_SECTION] - terms - a[loss],
        'backward + optimizer step': c[update] - a[update],
        'data preprocessor': c['data preprocessor'] - a['data preprocessor'],
    }
    total = c['total'] - a['total'] - b['total']
    parts['other'] = total - sum(parts.values())
    parts['total'] = total
    return parts
