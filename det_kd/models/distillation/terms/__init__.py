"""Distillation terms: each a registered module that declares what it needs and returns its losses."""
from .attention_transfer_term import AttentionTransferTerm
from .base import DistillationInputs, DistillationTerm, LossModuleTerm, RCNOutputs, RPNOutputs
from .channel_wise_term import ChannelWiseDistillationTerm
from .defeat_feature_term import DeFeatFeatureTerm
from .defeat_roi_term import DeFeatRoITerm
from .dist_term import DISTTerm
from .fbkd_term import FBKDTerm
from .feature_term import FeatureDistillationTerm
from .fgd_term import FGDTerm
from .hint_term import HintTerm
from .mgd_term import MGDTerm
from .pearson_term import PearsonDistillationTerm
from .rcn_terms import RCNBoundedRegressionTerm, RCNSoftClassTerm, check_rcn_pairing
from .rpn_terms import RPNBoundedRegressionTerm, RPNSoftClassTerm, check_rpn_pairing

__all__ = [
    'DistillationInputs', 'DistillationTerm', 'LossModuleTerm', 'RPNOutputs', 'RCNOutputs', 'FeatureDistillationTerm',
    'HintTerm', 'RPNSoftClassTerm', 'RPNBoundedRegressionTerm', 'RCNSoftClassTerm', 'RCNBoundedRegressionTerm',
    'check_rpn_pairing', 'check_rcn_pairing', 'AttentionTransferTerm', 'ChannelWiseDistillationTerm',
    'PearsonDistillationTerm', 'FGDTerm', 'DeFeatFeatureTerm', 'DeFeatRoITerm', 'DISTTerm', 'MGDTerm', 'FBKDTerm'
]
