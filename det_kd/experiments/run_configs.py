"""The configs an experiment runs, written into its work directory.

A run config is a repo config with the experiment's ``--cfg-options`` merged in and its data paths made
absolute, dumped as one self-contained file: ``tools/train.py`` and ``tools/test.py`` run it as written from
any directory, and a user can read or edit what the experiment trained (the demo's ``configs/``).
"""
import argparse
import copy
import os
import os.path as osp
from typing import Sequence, Union

from mmengine.config import Config, DictAction

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')


def merged_config(config: Union[str, Config], options: Sequence[str] = ()) -> Config:
    """``config`` (a file or a ``Config``, left unchanged) with the ``--cfg-options`` ``options`` (``key=value``
    strings, as ``tools/train.py`` takes them) merged in."""
    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(config)
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


def _absolute(path, data_dir: str):
    return osp.normpath(osp.join(data_dir, path)) if isinstance(path, str) and not osp.isabs(path) else path


def _datasets(dataset):
    """A dataset config and the ones it wraps (``RepeatDataset``'s ``dataset``, ``ConcatDataset``'s
    ``datasets``)."""
    if not isinstance(dataset, dict):
        return
    yield dataset
    yield from _datasets(dataset.get('dataset'))
    for inner in dataset.get('datasets') or []:
        yield from _datasets(inner)


def make_data_paths_absolute(cfg: Config, data_dir: str) -> Config:
    """Makes the relative ``data_root`` of every dataset of ``cfg``'s dataloaders, and the relative
    ``ann_file`` of its evaluators, absolute under ``data_dir`` (the directory the runs' tools ran in), in
    place (and the top-level ``data_root`` variable the repo configs define); returns ``cfg``. A dataset without
    ``data_root`` gets its relative ``ann_file`` and ``data_prefix`` folders made absolute."""
    data_dir = osp.abspath(data_dir)
    if isinstance(cfg.get('data_root'), str):  # the configs' own variable, for a reader of the written file
        cfg.data_root = _absolute(cfg.data_root, data_dir)
    for name in _DATALOADERS:
        loader = cfg.get(name)
        for dataset in _datasets(loader.get('dataset') if isinstance(loader, dict) else None):
            if dataset.get('data_root'):
                dataset['data_root'] = _absolute(dataset['data_root'], data_dir)
                continue
            if 'ann_file' in dataset:
                dataset['ann_file'] = _absolute(dataset['ann_file'], data_dir)
            prefix = dataset.get('data_prefix')
            if isinstance(prefix, dict):  # without a data_root the image folders are relative to data_dir too
                dataset['data_prefix'] = {k: _absolute(v, data_dir) if v else v for k, v in prefix.items()}
    for name in _EVALUATORS:
        evaluators = cfg.get(name)
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            if isinstance(evaluator, dict) and 'ann_file' in evaluator:
                evaluator['ann_file'] = _absolute(evaluator['ann_file'], data_dir)
    return cfg


def write_run_config(config: Union[str, Config], out_path: str, data_dir: str, options: Sequence[str] = ()) -> str:
    """Writes ``config`` (a file or a ``Config``) with ``options`` merged in and its data paths absolute under
    ``data_dir`` to ``out_path``; returns ``out_path``. An existing ``out_path`` with the same content is kept.

    Raises:
        FileNotFoundError: If a data path of the written config does not exist (e.g. ``data_dir`` is not the
            folder that holds the config's ``data/``), naming the key and the path.
        FileExistsError: If ``out_path`` holds another config (an earlier run's, with other settings): it is
            never overwritten.
    """
    cfg = make_data_paths_absolute(merged_config(config, options), data_dir)
    config = config.filename if isinstance(config, Config) else config  # for the messages
    for name in _DATALOADERS:
        loader = cfg.get(name)
        for dataset in _datasets(loader.get('dataset') if isinstance(loader, dict) else None):
            root = dataset.get('data_root')
            if root and not osp.exists(root):
                raise FileNotFoundError(f'{config}: {name}.dataset.data_root {root} does not exist under {data_dir}')
    text = cfg.pretty_text
    if osp.isfile(out_path):
        with open(out_path, encoding='utf-8') as f:
            if f.read() == text:
                return out_path
        raise FileExistsError(f'{out_path} holds another config than {config} with these options (an earlier '
                              'run with other settings); it is not overwritten: use another work directory')
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    with open(out_path, 'w', encoding='utf-8') as f:
        f.write(text)
    return out_path
