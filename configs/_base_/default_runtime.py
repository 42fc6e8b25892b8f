# MMDetection's runtime with det_kd loaded: registers det_kd's modules and lets --resume read
# MMEngine checkpoints under torch.load(weights_only=True).
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['det_kd'], allow_failed_imports=False)

# A progress bar over validation / testing when run in a terminal (MMEngine logs every N iterations); the
# random states saved in checkpoints so that --resume continues exactly as an uninterrupted run; checkpoints
# written atomically, the old one removed only once the new one is complete (MMEngine's hook removes it
# first: a kill during the save with max_keep_ckpts=1 lost every checkpoint); training stopped at the first
# NaN / inf loss, naming the terms, before a checkpoint is written from that state; before the first
# iteration, training data that would train a wrong model quietly refused (a RatioSampler whose batch size
# differs from the dataloader's or under a batch sampler, unlabeled images that are validation / test images).
default_hooks = dict(
    progress_bar=dict(type='ProgressBarHook'),
    rng_state=dict(type='RNGStateHook'),
    checkpoint=dict(type='SafeCheckpointHook'),
    finite_loss=dict(type='FiniteLossHook'),
    data_check=dict(type='TrainingDataCheckHook'))

# MMEngine's runner, able to run distributed on CPU with gloo as well (docs/distributed.md).
runner_type = 'mmdet.CPUDistributedRunner'
