"""Buy-till-you-die and contractual models, each in its own module over a small shared base."""

from .beta_geo import BetaGeoModel
from .gamma_gamma import GammaGammaModel
from .pareto_nbd import ParetoNBDModel
from .shifted_beta_geometric import ShiftedBetaGeometricModel

__all__ = ["BetaGeoModel", "GammaGammaModel", "ParetoNBDModel", "ShiftedBetaGeometricModel"]
