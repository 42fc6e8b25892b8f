"""KITTI label/result file IO and the ``tools/eval_kitti.py`` command line."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from det_kd_kitti import (KittiObjects, load_kitti_gt_and_results, parse_kitti_line, read_kitti_file,
                          read_split_file, write_kitti_result_dir, write_kitti_result_file)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GT_LINE = 'Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01'
DC_LINE = 'DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10'
RESULT_LINE = 'Car -1 -1 -10 10.00 20.00 110.00 120.00 -1 -1 -1 -1000 -1000 -1000 -10 0.9000'


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_parse_gt_and_result_lines():
    assert parse_kitti_line(GT_LINE, is_result=False) == (
        'Pedestrian', 0.0, 0, [712.40, 143.00, 810.73, 307.92], None)
    assert parse_kitti_line(DC_LINE, is_result=False)[1:3] == (-1.0, -1)
    assert parse_kitti_line(RESULT_LINE, is_result=True) == ('Car', -1.0, -1, [10.0, 20.0, 110.0, 120.0], 0.9)


def test_read_gt_file_skips_blank_lines(tmp_path):
    objects = read_kitti_file(write(tmp_path / '000000.txt', f'{GT_LINE}\n\n{DC_LINE}\n'), is_result=False)
    assert objects.names.tolist() == ['Pedestrian', 'DontCare']
    assert objects.boxes.dtype == np.float64 and objects.boxes.shape == (2, 4)
    assert objects.occluded.tolist() == [0, -1] and objects.truncated.tolist() == [0.0, -1.0]
    assert objects.scores is None
    empty = read_kitti_file(write(tmp_path / 'e.txt', ''), is_result=True)
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.scores.shape == (0, )


@pytest.mark.parametrize('is_result,bad_line,message', [
    (False, RESULT_LINE, 'needs 15 fields, got 16'),
    (True, GT_LINE, 'needs 16 fields, got 15'),
    (False, GT_LINE.replace('712.40', 'abc'), "'abc' is not a number"),
    (False, GT_LINE.replace(' 0 -0.20', ' 0.5 -0.20'), 'occlusion'),
    (True, RESULT_LINE.replace('0.9000', 'nan'), 'not finite'),
])
def test_malformed_line_names_file_and_line(tmp_path, is_result, bad_line, message):
    good = RESULT_LINE if is_result else GT_LINE
    path = write(tmp_path / '000007.txt', f'{good}\n\n{bad_line}\n')
    with pytest.raises(ValueError) as err:
        read_kitti_file(path, is_result=is_result)
    assert f'{path}:3:' in str(err.value) and message in str(err.value)


def make_dataset(root):
    """GT for 000000..000002; results for 000000 and 000002 (a malformed 000001 is never read)."""
    gt_dir, det_dir = root / 'label_2', root / 'results'
    gt_dir.mkdir()
    det_dir.mkdir()
    car = 'Car 0.00 0 0 0.00 0.00 100.00 100.00 1 1 1 1 1 1 0'
    write(gt_dir / '000000.txt', car + '\n')
    write(gt_dir / '000001.txt', car + '\n')
    write(gt_dir / '000002.txt', car.replace('Car', 'Pedestrian') + '\n')
    write_kitti_result_file(det_dir / '000000.txt', ['Car'], np.array([[0, 0, 100, 100.0]]), [0.9])
    write(det_dir / '000001.txt', 'garbage\n')
    write_kitti_result_file(det_dir / '000002.txt', ['Pedestrian'], np.array([[0, 0, 100, 100.0]]), [0.8])
    split = write(root / 'val.txt', '000000\n\n000002\n')
    return gt_dir, det_dir, split


def test_split_file_is_respected_and_missing_results_mean_no_detections(tmp_path):
    gt_dir, det_dir, split = make_dataset(tmp_path)
    assert read_split_file(split) == ['000000', '000002']
    ids, gts, dets = load_kitti_gt_and_results(gt_dir, det_dir, split)
    assert ids == ['000000', '000002'] and [g.names.tolist() for g in gts] == [['Car'], ['Pedestrian']]
    (det_dir / '000002.txt').unlink()
    _, _, dets = load_kitti_gt_and_results(gt_dir, det_dir, split)
    assert len(dets[1]) == 0 and dets[1].scores.shape == (0, )
    with pytest.raises(ValueError, match='000001.txt:1:'):  # without a split, every GT file is used
        load_kitti_gt_and_results(gt_dir, det_dir)


def test_missing_gt_file_is_an_error_naming_it(tmp_path):
    gt_dir, det_dir, _ = make_dataset(tmp_path)
    split = write(tmp_path / 'bad.txt', '000000\n000009\n')
    with pytest.raises(FileNotFoundError, match='000009.txt'):
        load_kitti_gt_and_results(gt_dir, det_dir, split)


def test_writer_format_and_round_trip(tmp_path):
    path = tmp_path / 'out' / '000003.txt'
    write_kitti_result_file(path, ['Car', 'Cyclist'], np.array([[1.234, 2.5, 30.0, 40.006], [0, 0, 1, 1]]),
                            [0.123456, 1.0])
    assert path.read_text().splitlines() == [
        'Car -1 -1 -10 1.23 2.50 30.00 40.01 -1 -1 -1 -1000 -1000 -1000 -10 0.1235',
        'Cyclist -1 -1 -10 0.00 0.00 1.00 1.00 -1 -1 -1 -1000 -1000 -1000 -10 1.0000']
    objects = read_kitti_file(path, is_result=True)
    assert objects.boxes[0].tolist() == [1.23, 2.5, 30.0, 40.01] and objects.scores.tolist() == [0.1235, 1.0]
    with pytest.raises(ValueError, match='one word'):
        write_kitti_result_file(path, ['Big Car'], np.zeros((1, 4)), [0.5])
    write_kitti_result_dir(tmp_path / 'dir', {'000004': objects})
    written = read_kitti_file(tmp_path / 'dir' / '000004.txt', is_result=True)
    assert written.names.tolist() == ['Car', 'Cyclist']


def test_cli_prints_table_and_writes_json(tmp_path):
    gt_dir, det_dir, split = make_dataset(tmp_path)
    out = tmp_path / 'ap.json'
    cmd = [sys.executable, osp.join('tools', 'eval_kitti.py'), '--gt-dir', str(gt_dir),
           '--det-dir', str(det_dir), '--split', split, '--classes', 'Car', 'Pedestrian', 'Cyclist',
           '--json', str(out)]
    # No Cyclist in the ground truth: refused (a typo would lower the mean) unless explicitly kept out.
    refused = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "class(es) ['Cyclist']" in refused.stderr and not out.exists()
    kept_out = subprocess.run(cmd + ['--keep-empty-classes'], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert kept_out.returncode == 0, kept_out.stderr
    assert list(json.loads(out.read_text())) == ['Car', 'Pedestrian', 'mean']
    assert json.loads(out.read_text())['mean']['R11']['easy'] == pytest.approx(100 / 11)
    # Cyclist present in the ground truth (an image without a detection of it): its AP is 0.
    write(gt_dir / '000002.txt', 'Pedestrian 0.00 0 0 0.00 0.00 100.00 100.00 1 1 1 1 1 1 0\n'
                                 'Cyclist 0.00 0 0 0.00 200.00 100.00 300.00 1 1 1 1 1 1 0\n')
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'Car' in proc.stdout and 'mean' in proc.stdout
    result = json.loads(out.read_text())
    assert list(result) == ['Car', 'Pedestrian', 'Cyclist', 'mean']
    for key in result:
        assert set(result[key]) == {'R11', 'R40'}
        assert all(set(result[key][m]) == {'easy', 'moderate', 'hard'} for m in ('R11', 'R40'))
    # one GT and one perfect det per class: R11 = 100/11, R40 = 0; Cyclist never detected: 0;
    # mean = (2 * 100/11) / 3
    assert result['Car']['R11']['moderate'] == pytest.approx(100 / 11)
    assert result['Pedestrian']['R40']['easy'] == 0.0
    assert result['Cyclist']['R11']['hard'] == 0.0
    assert result['mean']['R11']['easy'] == pytest.approx(200 / 33)


def test_kitti_objects_length():
    objects = KittiObjects(names=np.array(['Car']), truncated=np.zeros(1), occluded=np.zeros(1, np.int64),
                           boxes=np.zeros((1, 4)))
    assert len(objects) == 1


def test_inputs_that_do_not_line_up_are_errors_naming_the_files(tmp_path):
    gt_dir, det_dir, split = make_dataset(tmp_path)
    misnamed = tmp_path / 'misnamed'
    misnamed.mkdir()
    write_kitti_result_file(misnamed / '0.txt', ['Car'], np.array([[0, 0, 100, 100.0]]), [0.9])
    with pytest.raises(ValueError, match=r"no result file in .*misnamed matches an image of the split: expected "
                                         r"names such as \['000000.txt', '000002.txt'\], found \['0.txt'\]"):
        load_kitti_gt_and_results(gt_dir, misnamed, split)
    with pytest.raises(ValueError, match='lists no image id'):
        load_kitti_gt_and_results(gt_dir, det_dir, write(tmp_path / 'empty.txt', '\n'))
    empty_gt = tmp_path / 'empty_gt'
    empty_gt.mkdir()
    with pytest.raises(ValueError, match='holds no \\*.txt label file'):
        load_kitti_gt_and_results(empty_gt, det_dir)
    with pytest.raises(FileNotFoundError, match='ground-truth label folder not found'):
        load_kitti_gt_and_results(tmp_path / 'nope', det_dir)


def test_unmatched_result_files_and_inverted_boxes_warn_with_counts(tmp_path):
    gt_dir, det_dir, split = make_dataset(tmp_path)
    write_kitti_result_file(det_dir / '000000.txt', ['Car', 'Car'], np.array([[0, 0, 100, 100.0], [50, 0, 10, 9]]),
                            [0.9, 0.5])
    with pytest.warns(UserWarning) as caught:
        load_kitti_gt_and_results(gt_dir, det_dir, split)
    messages = [str(w.message) for w in caught]
    assert any('1 result file(s)' in m and '000001' in m for m in messages)
    assert any('1 detection(s)' in m and 'x2 < x1' in m for m in messages)


FRAMEWORK = ('torch', 'mmcv', 'mmdet', 'mmengine', 'det_kd')


def imported_modules(importtime_stderr: str) -> set:
    """Top-level names of the modules a ``python -X importtime`` run imported."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith('import time:') and '|' in line:
            name = line.rsplit('|', 1)[1].strip()
            names.add(name.split('.')[0])
    return names


def test_cli_imports_no_framework(tmp_path):
    """``tools/eval_kitti.py`` scores files with numpy only: neither --help nor an evaluation imports torch,
    mmcv, mmdet, mmengine or the det_kd plugin (whose import registers everything in MMDetection)."""
    gt_dir, det_dir, split = make_dataset(tmp_path)
    tool = osp.join('tools', 'eval_kitti.py')
    for args in (['--help'], ['--gt-dir', str(gt_dir), '--det-dir', str(det_dir), '--split', split,
                              '--classes', 'Car', 'Pedestrian']):
        proc = subprocess.run([sys.executable, '-X', 'importtime', tool, *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = imported_modules(proc.stderr)
        assert 'numpy' in imported and 'det_kd_kitti' in imported  # the parser sees the imports
        assert not imported & set(FRAMEWORK), sorted(imported & set(FRAMEWORK))


def test_plugin_namespace_reexports_the_framework_free_package():
    import det_kd_kitti
    from det_kd.evaluation import functional
    assert set(functional.__all__) == set(det_kd_kitti.__all__)
    assert all(getattr(functional, name) is getattr(det_kd_kitti, name) for name in det_kd_kitti.__all__)
    assert functional.kitti_eval is det_kd_kitti.kitti_eval
