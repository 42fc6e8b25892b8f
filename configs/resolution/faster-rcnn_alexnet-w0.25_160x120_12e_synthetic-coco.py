# The paper's Table 2 student on the synthetic shapes: the teacher's architecture
# (../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py, 320x240) at half its input size,
# 160x120. Anchors are halved with the image (8-64 px instead of 16-128 px), which keeps them on the
# objects' sizes and makes the student's anchor at feature position (i, j) the teacher's anchor at (2i, 2j)
# halved, so RPN distillation compares the same boxes (KDFasterRCNN, rpn_align='grid').
# This config trains the baseline and tests both students (the distilled one after tools/export_student.py).
_base_ = '../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py'

image_scale = (160, 120)
model = dict(rpn_head=dict(anchor_generator=dict(scales=[0.5, 1, 2, 4])))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
