"""Buy-till-you-die and contractual models, each in its own module over a small shared base."""

from .beta_geo import BetaGeoModel
from .beta_geo_beta_binom import BetaGeoBetaBinomModel
from .gamma_gamma import GammaGammaModel
from .modified_beta_geo import ModifiedBetaGeoModel
from .pareto_nbd import ParetoNBDModel
from .shifted_beta_geometric import ShiftedBetaGeometricModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeometricModel",
]
