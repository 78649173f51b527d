"""Buy-till-you-die and contractual models, each in its own module over a small shared base."""

from .beta_geo import BetaGeoModel
from .gamma_gamma import GammaGammaModel
from .pareto_nbd import ParetoNBDModel

__all__ = ["BetaGeoModel", "GammaGammaModel", "ParetoNBDModel"]
