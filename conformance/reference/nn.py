"""The reference's layers and blocks under Gluon's names (`mxnet.gluon.nn`), for programs."""

from .block import Block, Sequential
from .layers import Activation, Dense, Dropout, Flatten
from .parameter import Constant, Parameter, ParameterDict

__all__ = ["Activation", "Block", "Constant", "Dense", "Dropout", "Flatten", "Parameter", "ParameterDict", "Sequential"]
