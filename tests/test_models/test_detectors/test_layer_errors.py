"""A layer index or module path outside the network names the term and pair that read it, not "hint layer"
(issue 29)."""
import pytest

import det_kd  # noqa: F401
from kd_fixtures import build, kd_cfg

HEADS_OFF = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)


@pytest.mark.parametrize('term,name', [('AttentionTransferTerm', 'at'), ('ChannelWiseDistillationTerm', 'cwd'),
                                       ('PearsonDistillationTerm', 'pkd')])
def test_a_layer_index_outside_the_network_names_the_term(term, name):
    terms = [dict(type=term, pairs=[dict(student=0, teacher=3, adapter='conv1x1')])]
    with pytest.raises(IndexError) as raised:
        build(kd_cfg(distill=dict(HEADS_OFF, terms=terms)))
    message = str(raised.value)
    assert f"teacher layer 3 (read by term {name!r} ({term})" in message and 'pair 0' in message, message
    assert 'extract_feat returns 1 map(s), so an int layer must be in [-1, 0]' in message
    assert 'hint layer' not in message


def test_a_module_path_that_does_not_exist_names_the_term():
    terms = [dict(type='AttentionTransferTerm', pairs=[dict(student='backbone.layer9', teacher=0)])]
    with pytest.raises(KeyError, match=r"student has no module 'backbone.layer9'.*\(read by term 'at' "
                                       r"\(AttentionTransferTerm\), attention-transfer pair 0"):
        build(kd_cfg(distill=dict(HEADS_OFF, terms=terms)))


def test_the_hints_layer_errors_name_the_hint_term():
    with pytest.raises(IndexError, match=r"student layer 4 \(read by term 'hint' \(HintTerm\), hint pair 0"):
        build(kd_cfg(distill=dict(hints=[dict(student=4, teacher=0)])))
