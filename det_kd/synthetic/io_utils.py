"""File-writing helpers shared by the COCO, VOC and KITTI writers."""
from __future__ import annotations

import os
from typing import Sequence


def write_text(path: str, text: str) -> None:
    """Writes a UTF-8 text file, creating its parent directories.

    Args:
        path (str): Destination file.
        text (str): Content, written as is (``\\n`` line ends on every platform).
    """
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def write_id_list(path: str, ids: Sequence[str]) -> None:
    """Writes image ids one per line (VOC ``ImageSets`` / KITTI split files).

    Args:
        path (str): Destination file; parent directories are created.
        ids (Sequence[str]): Image ids (file stems) in order.
    """
    write_text(path, ''.join(f'{image_id}\n' for image_id in ids))
