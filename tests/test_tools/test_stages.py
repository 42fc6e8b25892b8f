"""The progress the experiment stages read from the tools' logs (bars with a total for training and test)."""
from det_kd.experiments.stages import evaluation_progress, training_progress

TRAIN = '12/04 15:42:12 - mmengine - INFO - Epoch(train)  [3][ 40/50]  base_lr: 2.0e-02 lr: 2.0e-02  eta: 0:01:02'
TEST = '12/04 15:42:12 - mmengine - INFO - Epoch(test) [ 10/500]    eta: 0:00:12  time: 0.0262  data_time: 0.0013'


def test_training_progress_counts_iterations_over_all_epochs():
    assert training_progress(TRAIN, max_epochs=24) == (2 * 50 + 40, 24 * 50)
    assert training_progress('Iter(train) [ 300/1000]  lr: 1e-2', max_epochs=1) == (300, 1000)
    assert training_progress(TEST, max_epochs=24) is None


def test_evaluation_progress_counts_test_images():
    assert evaluation_progress(TEST) == (10, 500)
    assert evaluation_progress(TRAIN) is None
    assert evaluation_progress('Epoch(test) [500/500]    pascal_voc/mAP: 0.1220') == (500, 500)
