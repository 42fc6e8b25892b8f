"""The README and docs/ point only at files that exist in the repository (no links outside a clone)."""
import glob
import os.path as osp
import re
from typing import List, Tuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = ['README.md'] + sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'docs', '*.md')))

_FENCED = re.compile(r'^(```|~~~).*?^\1', re.M | re.S)
_INLINE_CODE = re.compile(r'`[^`\n]*`')
#: ``[text](target)`` and ``![alt](target)``; the target ends at whitespace (an optional title follows).
_LINK = re.compile(r'!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
#: Repository paths named in inline code, e.g. `det_kd/models/losses/hint_loss.py`.
_CODE_PATH = re.compile(r'`((?:det_kd|configs|tools|tests|benchmarks|docs)/[^`\s{}]*)`')


def _read(doc: str) -> str:
    with open(osp.join(ROOT, doc), encoding='utf-8') as f:
        return f.read()


def relative_links(text: str) -> List[str]:
    """Link targets of a markdown text that are relative paths (no URL, no in-page anchor)."""
    prose = _INLINE_CODE.sub('', _FENCED.sub('', text))
    targets = []
    for target in _LINK.findall(prose):
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target) or target.startswith('#'):
            continue  # http:, https:, mailto: ... or an anchor in the same page
        targets.append(target.split('#', 1)[0].split('?', 1)[0])
    return targets


def _links() -> List[Tuple[str, str]]:
    return list(dict.fromkeys((doc, target) for doc in DOCS for target in relative_links(_read(doc))))


def test_docs_exist():
    assert 'docs/method.md' in DOCS and 'docs/evaluation.md' in DOCS


def test_link_parser():
    text = ('[a](docs/x.md) ![b](img.png "t") [c](https://x.org) [d](#top) [e](y.md#part) `[f](no.md)`\n'
            '```\n[g](in_code.md)\n```\n')
    assert relative_links(text) == ['docs/x.md', 'img.png', 'y.md']


@pytest.mark.parametrize('doc,target', _links())
def test_relative_link_points_to_a_file_in_the_repository(doc, target):
    path = osp.normpath(osp.join(ROOT, osp.dirname(doc), target))
    assert osp.commonpath([ROOT, path]) == ROOT, f'{doc}: link {target!r} leaves the repository'
    assert osp.exists(path), f'{doc}: link {target!r} points to a missing file'


@pytest.mark.parametrize('doc', DOCS)
def test_repository_paths_in_code_exist(doc):
    missing = [p for p in _CODE_PATH.findall(_read(doc)) if not glob.glob(osp.join(ROOT, p))]
    assert not missing, f'{doc} names paths that do not exist: {missing}'


@pytest.mark.parametrize('doc', DOCS)
def test_docs_do_not_point_outside_the_repository(doc):
    assert '../shared' not in _read(doc), f'{doc} names ../shared, which a clone does not have'


def test_readme_links_the_method_and_evaluation_docs():
    readme = _read('README.md')
    assert '(docs/method.md)' in readme and '(docs/evaluation.md)' in readme
