"""Writing benchmark results: the command line, markdown tables and the JSON + markdown files."""
import json
import os
import os.path as osp
import shlex
import sys
from typing import List, Optional, Sequence, Tuple


def command_line(argv: Optional[Sequence[str]] = None) -> str:
    """The command that is running, as ``python <script relative to the cwd> <args>``.

    Args:
        argv (Sequence[str], optional): The arguments after the script. Defaults to ``sys.argv[1:]``.
    """
    script = osp.relpath(osp.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else '<python>'
    return shlex.join(['python', script, *(sys.argv[1:] if argv is None else argv)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = '') -> str:
    """A markdown table; ``align`` has one character per column, ``l`` or ``r``. Defaults to all left."""
    align = align.ljust(len(header), 'l')
    lines = [
        '| ' + ' | '.join(header) + ' |', '|' + '|'.join('---:' if a == 'r' else '---' for a in align) + '|'
    ]
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return '\n'.join(lines)


def write_results(out_dir: str, name: str, results: dict, markdown: str) -> Tuple[str, str]:
    """Writes ``<out_dir>/<name>.json`` and ``<out_dir>/<name>.md``.

    Returns:
        tuple[str, str]: The two paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path, md_path = osp.join(out_dir, f'{name}.json'), osp.join(out_dir, f'{name}.md')
    with open(json_path, 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    with open(md_path, 'w') as f:
        f.write(markdown.rstrip('\n') + '\n')
    return json_path, md_path


def millions(count: Optional[float]) -> str:
    """``12.35M`` for 12345678; ``-`` for None."""
    return '-' if count is None else f'{count / 1e6:.2f}M'


def billions(count: Optional[float]) -> str:
    """``12.35`` for 12345678901 (shown in a column titled G...); ``-`` for None."""
    return '-' if count is None else f'{count / 1e9:.2f}'


def load_average_line(before: Optional[Sequence[float]], after: Optional[Sequence[float]]) -> str:
    """A sentence with the 1/5/15-minute load averages before and after the measurement."""

    def show(load: Optional[Sequence[float]]) -> str:
        return 'n/a' if load is None else ' / '.join(f'{x:.2f}' for x in load)

    return f'Load average (1/5/15 min) before: {show(before)}; after: {show(after)}.'


def join_lines(parts: List[str]) -> str:
    """Paragraphs joined by blank lines."""
    return '\n\n'.join(part.strip('\n') for part in parts if part) + '\n'
