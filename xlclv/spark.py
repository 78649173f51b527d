"""``xlclv.spark``: the RFM summary, model fitting and scoring on Spark.

The public path of :mod:`xlclv.engines.spark` (see there): ``rfm_summary(df, ...)`` in Spark
SQL, ``fit(model, rfm_df)`` on the driver, ``score(rfm_df, purchase_model, spend_model, ...)``
on the workers. Needs ``pip install "xlclv[spark]"``.
"""

from __future__ import annotations

from .engines.spark import fit, rfm_summary, score

__all__ = ["fit", "rfm_summary", "score"]
