"""Bodies: networks f_e and f_d that map an input onto a hidden representation.

A body knows nothing about distributions; a projection head (:mod:`vaekit.heads`) turns its
output into the parameters of one distribution family.
"""

from vaekit.nn.conv import ConvDecoder as ConvDecoder
from vaekit.nn.conv import ConvEncoder as ConvEncoder
from vaekit.nn.mlp import MLP as MLP
from vaekit.nn.mlp import ConditionalMLP as ConditionalMLP
from vaekit.nn.mlp import IndicatorMLP as IndicatorMLP
from vaekit.nn.recurrent import ImageRowEncoder as ImageRowEncoder
from vaekit.nn.recurrent import RNNDecoder as RNNDecoder
from vaekit.nn.recurrent import RNNEncoder as RNNEncoder

__all__ = [
    "MLP",
    "ConditionalMLP",
    "IndicatorMLP",
    "ConvEncoder",
    "ConvDecoder",
    "ImageRowEncoder",
    "RNNDecoder",
    "RNNEncoder",
]
