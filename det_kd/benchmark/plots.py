"""Accuracy against cost: mAP of teachers, baselines and distilled students against latency and parameters.

Inputs:

- a results JSON written by ``tools/benchmark.py`` (latency and parameters per model name, the config
  file name without ``.py``);
- per plotted point, a model name from that JSON, a role (``teacher``, ``baseline`` or ``distilled``) and
  where its mAP is: an MMEngine work dir (the newest ``<timestamp>/vis_data/scalars.json`` or
  ``<timestamp>/<timestamp>.json`` holding the metric) or a metrics JSON file (one dict, or JSON lines,
  the last record holding the metric wins). A distilled student has its baseline's architecture, so
  both name the same model.
"""
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Marker and colour of each role.
ROLE_STYLES = {
    'teacher': dict(marker='^', color='tab:red'),
    'baseline': dict(marker='o', color='tab:blue'),
    'distilled': dict(marker='*', color='tab:green'),
}
ROLES = tuple(ROLE_STYLES)
#: Metric keys used when none is given: COCO's ``coco/bbox_mAP``, VOC's ``pascal_voc/mAP``...
DEFAULT_METRIC_PATTERN = re.compile(r'(^|/)(bbox_)?mAP$')


@dataclass(frozen=True)
class PlotPoint:
    """One model on the plot.

    Args:
        name (str): Model name (as in the benchmark JSON).
        role (str): One of :data:`ROLES`.
        metric (float): The accuracy value.
        latency_ms (float): Median latency.
        params (int): Number of parameters.
        latency_range_ms (tuple, optional): ``(p10, p90)`` of the timed calls, drawn as an error bar.
            Defaults to None (no bar).
    """

    name: str
    role: str
    metric: float
    latency_ms: float
    params: int
    latency_range_ms: Optional[Tuple[float, float]] = None


def point_label(point: PlotPoint) -> str:
    """The point's name, marked ``(distilled)`` for a distilled student unless its name says so already."""
    if point.role == 'distilled' and 'distilled' not in point.name:
        return f'{point.name} (distilled)'
    return point.name


def load_benchmark(path: str) -> dict:
    """A ``tools/benchmark.py`` results JSON, with ``models`` turned into a name -> row dict.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If it is not a ``tools/benchmark.py`` results file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'benchmark results {path!r} not found')
    with open(path) as f:
        results = json.load(f)
    if not isinstance(results, dict) or not isinstance(results.get('models'), list):
        raise ValueError(f'{path!r} is not a tools/benchmark.py results JSON (no `models` list)')
    return dict(results, models={row['name']: row for row in results['models']})


def _json_records(path: str) -> List[dict]:
    """The dicts in a JSON file: one dict, a list of dicts, or one dict per line (JSON lines)."""
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
        records = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [record for record in records if isinstance(record, dict)]


def _find_metric_key(record: dict, metric: Optional[str]) -> Optional[str]:
    if metric is not None:
        return metric if metric in record else None
    return next((key for key in record if DEFAULT_METRIC_PATTERN.search(key)), None)


def _metric_files(source: str) -> List[str]:
    """Metric files of a work dir, newest run first (MMEngine timestamps sort by time)."""
    runs = sorted((d for d in glob.glob(osp.join(source, '*')) if osp.isdir(d)), reverse=True)
    files = []
    for run in runs:
        files += glob.glob(osp.join(run, 'vis_data', 'scalars.json'))
        files += glob.glob(osp.join(run, osp.basename(run) + '.json'))
    return files


def read_metric(source: str, metric: Optional[str] = None) -> float:
    """The last recorded value of ``metric`` in a work dir or a metrics JSON file.

    Args:
        source (str): An MMEngine work dir or a JSON / JSON-lines file.
        metric (str, optional): The key, e.g. ``'coco/bbox_mAP'``. Defaults to the first key matching
            :data:`DEFAULT_METRIC_PATTERN`.

    Raises:
        FileNotFoundError: If ``source`` does not exist or holds no metric file.
        KeyError: If no record has the metric.
    """
    if osp.isdir(source):
        files = _metric_files(source)
        if not files:
            raise FileNotFoundError(f'{source!r}: no <timestamp>/vis_data/scalars.json or <timestamp>/'
                                    '<timestamp>.json (evaluate the model first)')
    elif osp.isfile(source):
        files = [source]
    else:
        raise FileNotFoundError(f'metrics source {source!r} not found')
    for path in files:
        for record in reversed(_json_records(path)):
            key = _find_metric_key(record, metric)
            if key is not None:
                return float(record[key])
    wanted = repr(metric) if metric else f'a key matching {DEFAULT_METRIC_PATTERN.pattern!r}'
    raise KeyError(f'{source!r}: no record with {wanted} in {files}')


def make_points(benchmark: dict,
                entries: Sequence[Sequence[str]],
                metric: Optional[str] = None) -> List[PlotPoint]:
    """Plot points from ``(name, role, source)`` entries and a loaded benchmark.

    Raises:
        ValueError: If a role is unknown.
        KeyError: If a name is not in the benchmark.
    """
    points = []
    for name, role, source in entries:
        if role not in ROLES:
            raise ValueError(f'entry {name!r}: role {role!r} is not one of {ROLES}')
        if name not in benchmark['models']:
            raise KeyError(
                f'entry {name!r} is not in the benchmark results (models: {sorted(benchmark["models"])})')
        row = benchmark['models'][name]
        latency = row['latency']
        spread = (latency['p10_ms'], latency['p90_ms']) if 'p10_ms' in latency else None  # older: no p10
        points.append(
            PlotPoint(name, role, read_metric(source, metric), latency['median_ms'], row['params'], spread))
    return points


def _scatter(ax, points: Sequence[PlotPoint], x_of, xlabel: str, ylabel: str,
             x_range_of: Optional[Callable[[PlotPoint], Optional[Tuple[float, float]]]] = None) -> None:
    """One panel: points by role, labels, an arrow from each baseline to its distilled student and, with
    ``x_range_of``, a horizontal bar over each point's ``(low, high)`` range."""
    for p in points:
        x_range = x_range_of(p) if x_range_of else None
        if x_range is not None:
            ax.errorbar(x_of(p), p.metric, xerr=[[x_of(p) - x_range[0]], [x_range[1] - x_of(p)]], fmt='none',
                        ecolor=ROLE_STYLES[p.role]['color'], elinewidth=1, capsize=3, zorder=2)
    for role, style in ROLE_STYLES.items():
        chosen = [p for p in points if p.role == role]
        if chosen:
            ax.scatter([x_of(p) for p in chosen], [p.metric for p in chosen],
                       s=90,
                       label=role,
                       edgecolors='black',
                       linewidths=0.5,
                       zorder=3,
                       **style)
    for p in points:
        ax.annotate(point_label(p), (x_of(p), p.metric), textcoords='offset points', xytext=(5, 5),
                    fontsize=7)
    baselines: Dict[str, PlotPoint] = {p.name: p for p in points if p.role == 'baseline'}
    for p in points:
        if p.role == 'distilled' and p.name in baselines:
            base = baselines[p.name]
            ax.annotate(
                '', (x_of(p), p.metric), (x_of(base), base.metric),
                arrowprops=dict(arrowstyle='->', color='gray', linestyle='--'))
    ax.margins(x=0.3, y=0.12)  # room for the labels right of the points
    ax.set_xlim(left=0)
    ax.locator_params(axis='x', nbins=6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='best', fontsize=8)


def plot_accuracy_cost(points: Sequence[PlotPoint],
                       out_path: str,
                       metric_label: str = 'mAP',
                       title: str = '') -> str:
    """Writes a PNG with two panels: metric against median latency (with the p10-p90 bars of the points that
    have them), and against parameters.

    Uses matplotlib's Agg canvas directly (no display, no global backend change).

    Args:
        points (Sequence[PlotPoint]): From :func:`make_points`.
        out_path (str): The PNG file.
        metric_label (str): Y axis label. Defaults to 'mAP'.
        title (str): Figure title. Defaults to ''.

    Returns:
        str: ``out_path``.
    """
    if not points:
        raise ValueError('nothing to plot: give at least one entry')
    figure = Figure(figsize=(11, 4.5))
    FigureCanvasAgg(figure)
    latency_ax, params_ax = figure.subplots(1, 2)
    spread = ', bars p10-p90' if any(p.latency_range_ms for p in points) else ''
    _scatter(latency_ax, points, lambda p: p.latency_ms, f'median latency (ms, batch 1{spread})',
             metric_label, x_range_of=lambda p: p.latency_range_ms)
    _scatter(params_ax, points, lambda p: p.params / 1e6, 'parameters (M)', metric_label)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out_path, dpi=120)
    return out_path
