"""Tucker-2 decomposition, rank selection, the Tucker-AlexNet configs and tools/tucker_compress.py."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from torch import nn

from det_kd.compression import (conv_macs, conv_specs, relative_error, select_tucker_ranks, tucker2_decompose,
                                tucker2_reconstruct)
from det_kd.models.backbones import AlexNet
from det_kd.models.layers import TuckerConv2d, decompose_dense_convs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
THIN_ALEXNET = osp.join(CONFIGS, 'faster_rcnn', 'faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py')
THIN_TUCKER_ALEXNET = THIN_ALEXNET.replace('_alexnet', '_tucker-alexnet')
PAPER_RATIOS = (0.2, 0.25, 0.3, 0.375, 0.45)

register_all_modules()


def _load_tool():
    path = osp.join(REPO, 'tools', 'tucker_compress.py')
    spec = importlib.util.spec_from_file_location('tucker_compress', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _selected_names(backbone, ratio, input_size):
    names = {path: name for name, path in backbone.conv_paths.items()}
    ranks = select_tucker_ranks(conv_specs(backbone, input_size), ratio)
    return {names[path]: r for path, r in ranks.items()}


@pytest.mark.parametrize('in_channels,out_channels,kernel,stride,padding,dilation,bias', [
    (6, 10, 3, 1, 1, 1, True),
    (10, 6, 5, 2, 2, 1, False),
    (4, 16, 1, 1, 0, 1, True),  # more outputs than the mode-0 unfolding has columns
    (8, 8, 3, 1, 2, 2, True),
])
def test_full_rank_tucker_conv_reproduces_the_conv(in_channels, out_channels, kernel, stride, padding,
                                                   dilation, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, dilation, bias=bias)
    tucker = TuckerConv2d.from_conv(conv, (in_channels, out_channels))
    x = torch.randn(2, in_channels, 13, 11)
    with torch.no_grad():
        assert torch.allclose(tucker(x), conv(x), rtol=1e-4, atol=1e-5)
    assert relative_error(conv.weight, tucker.dense_weight()) < 1e-5
    assert (tucker.in_proj.bias, tucker.core.bias) == (None, None)
    assert (tucker.out_proj.bias is not None) == bias


def test_hosvd_factors_are_orthonormal_and_error_falls_with_rank():
    torch.manual_seed(0)
    weight = torch.randn(12, 8, 3, 3)
    errors = []
    for rank in range(1, 9):
        core, u_out, u_in = tucker2_decompose(weight, (rank, rank))
        assert core.shape == (rank, rank, 3, 3)
        assert torch.allclose(u_out.t() @ u_out, torch.eye(rank), atol=1e-5)
        assert torch.allclose(u_in.t() @ u_in, torch.eye(rank), atol=1e-5)
        errors.append(relative_error(weight, tucker2_reconstruct(core, u_out, u_in)))
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] > 0  # rank_out 8 < 12 output channels still truncates
    core, u_out, u_in = tucker2_decompose(weight, (8, 12))
    assert relative_error(weight, tucker2_reconstruct(core, u_out, u_in)) < 1e-6


def test_tucker_layer_is_the_truncated_hosvd():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 24, 3, padding=1)
    tucker = TuckerConv2d.from_conv(conv, (5, 7))
    core, u_out, u_in = tucker2_decompose(conv.weight, (5, 7))
    assert torch.allclose(tucker.dense_weight(), tucker2_reconstruct(core, u_out, u_in), atol=1e-6)
    x = torch.randn(1, 16, 9, 9)
    expected = nn.functional.conv2d(x, tucker.dense_weight(), conv.bias, padding=1)
    with torch.no_grad():
        assert torch.allclose(tucker(x), expected, atol=1e-5)


def test_bad_ranks_and_layer_names_are_named_in_errors():
    with pytest.raises(ValueError, match='rank_in=9'):
        TuckerConv2d(8, 8, 3, ranks=(9, 2))
    with pytest.raises(ValueError, match='pair'):
        TuckerConv2d(8, 8, 3, ranks=(2, ))
    with pytest.raises(KeyError, match='conv9'):
        AlexNet(tucker_ranks=dict(conv9=(4, 4)))
    with pytest.raises(ValueError, match=r"tucker_ranks\['conv2'\]: rank_in=17"):
        AlexNet(widen_factor=0.25, tucker_ranks=dict(conv2=(17, 4)))
    with pytest.raises(ValueError, match='groups=2'):
        TuckerConv2d.from_conv(nn.Conv2d(4, 4, 3, groups=2), (2, 2))


def test_decompose_dense_convs_rejects_a_kernel_of_another_shape():
    tucker = AlexNet(widen_factor=0.25, tucker_ranks=dict(conv3=(4, 4)))
    state_dict = AlexNet(widen_factor=0.5).state_dict()
    with pytest.raises(ValueError, match=r'features\.6\.weight'):
        decompose_dense_convs(state_dict, tucker)


@pytest.mark.parametrize('ratio', PAPER_RATIOS)
def test_rank_selection_hits_the_flops_ratio_at_full_width(ratio):
    """Width 1.0 on the meta device: shapes only, no arithmetic."""
    dense = AlexNet()
    tucker_ranks = _selected_names(dense, ratio, (600, 1000))
    assert set(tucker_ranks) == {'conv2', 'conv3', 'conv4', 'conv5'}  # conv1 (RGB input) stays dense
    achieved = conv_macs(AlexNet(tucker_ranks=tucker_ranks), (600, 1000)) / conv_macs(dense, (600, 1000))
    assert achieved == pytest.approx(ratio, rel=0.02)


def test_rank_selection_out_of_reach_is_an_error():
    specs = conv_specs(AlexNet(widen_factor=0.25), (240, 320))
    with pytest.raises(ValueError, match='out of reach'):  # conv1 alone costs 29% at this width
        select_tucker_ranks(specs, 0.2)
    with pytest.raises(ValueError, match=r'\(0, 1\)'):
        select_tucker_ranks(specs, 1.5)
    with pytest.raises(KeyError, match='features.99'):
        select_tucker_ranks(specs, 0.5, decompose=['features.99'])


@pytest.mark.parametrize('config,widen_factor,input_size', [
    ('_base_/models/faster-rcnn_tucker-alexnet.py', 1.0, (600, 1000)),
    ('faster_rcnn/faster-rcnn_tucker-alexnet-w0.25_12e_synthetic-coco.py', 0.25, (240, 320)),
])
def test_tucker_config_ranks_are_the_selected_ones(config, widen_factor, input_size):
    backbone = Config.fromfile(osp.join(CONFIGS, config)).model.backbone
    written = {name: tuple(ranks) for name, ranks in backbone.tucker_ranks.items()}
    assert written == _selected_names(AlexNet(widen_factor=widen_factor), 0.375, input_size)
    dense = AlexNet(widen_factor=widen_factor)
    tucker = AlexNet(widen_factor=widen_factor, tucker_ranks=written)
    assert conv_macs(tucker, input_size) / conv_macs(dense, input_size) == pytest.approx(0.375, rel=0.02)


def test_tucker_config_decomposes_pretrained_alexnet_when_initialised(tmp_path):
    """The detector's init_weights() loads dense AlexNet weights into the Tucker layers by HOSVD (the
    full-width config does this with torchvision's ImageNet AlexNet; 1/4 width here to stay fast)."""
    cfg = Config.fromfile(THIN_TUCKER_ALEXNET)
    state_dict = AlexNet(widen_factor=0.25).state_dict()
    state_dict['classifier.6.weight'] = torch.zeros(1000, 4096)  # torchvision's classifier is ignored
    path = str(tmp_path / 'alexnet.pth')
    torch.save(state_dict, path)
    cfg.model.backbone.update(norm_cfg=None, init_cfg=dict(type='Pretrained', checkpoint=path))
    model = MODELS.build(cfg.model)
    model.init_weights()
    backbone = model.backbone
    assert torch.equal(backbone.features[0].weight, state_dict['features.0.weight'])  # conv1 stays dense
    for index, ranks in zip((3, 6, 8, 10), cfg.model.backbone.tucker_ranks.values()):
        expected = TuckerConv2d.decompose(state_dict[f'features.{index}.weight'],
                                          state_dict[f'features.{index}.bias'], ranks)
        tucker = backbone.features[index]
        assert tucker.ranks == tuple(ranks)
        assert all(torch.equal(tucker.state_dict()[k], v) for k, v in expected.items()), index


def test_tool_hits_every_paper_ratio(tmp_path):
    config = tmp_path / 'alexnet-w0.5.py'
    config.write_text(f"_base_ = '{THIN_ALEXNET}'\n"
                      'model = dict(backbone=dict(widen_factor=0.5), rpn_head=dict(in_channels=128, '
                      'feat_channels=32), roi_head=dict(bbox_roi_extractor=dict(out_channels=128), '
                      'bbox_head=dict(in_channels=128, fc_out_channels=32)))\n')
    checkpoint = str(tmp_path / 'dense.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(str(config)).model).state_dict()}, checkpoint)
    tool = _load_tool()
    for ratio in PAPER_RATIOS:
        summary = tool.compress(str(config), checkpoint, ratio, str(tmp_path / 'out'), (240, 320))
        assert summary['flops_ratio'] == pytest.approx(ratio, rel=0.02)
        assert summary['config'].endswith(f'alexnet-w0.5_tucker{ratio:g}.py')
        assert osp.isfile(summary['checkpoint'])


def test_compressed_checkpoint_reloads_trains_and_predicts(tmp_path, capsys):
    dense = MODELS.build(Config.fromfile(THIN_ALEXNET).model)
    checkpoint = str(tmp_path / 'dense.pth')
    torch.save({'state_dict': dense.state_dict()}, checkpoint)
    tool = _load_tool()
    tool.main([
        THIN_ALEXNET, checkpoint, '--flops-ratio', '0.375', '--out',
        str(tmp_path), '--input-size', '240', '320'
    ])
    printed = capsys.readouterr().out
    assert 'tucker' in printed and '% of dense' in printed
    stem = tmp_path / 'faster-rcnn_alexnet-w0.25_12e_synthetic-coco_tucker0.375'

    cfg = Config.fromfile(f'{stem}.py')
    assert cfg.model.backbone.init_cfg is None and cfg.load_from == f'{stem}.pth'
    model = MODELS.build(cfg.model)
    saved = load_checkpoint(model, f'{stem}.pth', map_location='cpu', strict=True)
    assert saved['meta']['tucker_ranks'] == {k: list(v) for k, v in cfg.model.backbone.tucker_ranks.items()}
    assert saved['meta']['flops_ratio'] == pytest.approx(0.375, rel=0.02)
    assert isinstance(model.backbone.features[3], TuckerConv2d)

    # The backbone is the truncated HOSVD of the dense one; everything else is copied.
    dense_state = dense.state_dict()
    assert torch.equal(model.backbone.features[0].weight, dense_state['backbone.features.0.weight'])
    fc_cls = model.roi_head.bbox_head.fc_cls.weight
    assert torch.equal(fc_cls, dense_state['roi_head.bbox_head.fc_cls.weight'])
    assert torch.equal(model.backbone.features[3].out_proj.bias, dense_state['backbone.features.3.bias'])

    packed = demo_mm_inputs(batch_size=1, image_shapes=(3, 128, 160), num_items=[2], num_classes=5)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.backbone.features[3].core.weight.grad is not None
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False), mode='predict')
    assert len(results) == 1 and 'bboxes' in results[0].pred_instances
