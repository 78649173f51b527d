"""xlclv on Spark: the RFM summary in Spark SQL, fitting on the driver, scoring on the workers.

No distribution layer of our own: Spark runs the SQL and the pandas UDFs wherever it runs
(local mode, Databricks, EMR, Dataproc), and xlclv supplies three calls.

- :func:`rfm_summary` - the RFM summary of a Spark DataFrame of transactions, computed in Spark
  SQL by the same query as every other engine (:func:`xlclv.engines.sql.rfm_sql`, dialect
  "spark"). The same numbers as :func:`xlclv.transactions.rfm_summary`.
- :func:`fit` - fit any xlclv RFM model (BG/NBD, Pareto/NBD, Gamma-Gamma) on the distinct RFM
  rows and their counts, collected to the driver (at most one row per customer, often far
  fewer: CDNOW's 2,357 customers make 1,016 rows; the Gamma-Gamma spend rows are about one per
  repeat buyer, so plan driver memory for them).
- :func:`score` - P(alive), expected purchases, expected spend and CLV per customer, computed
  on the workers with ``mapInPandas`` (vectorised per Arrow batch).

pyspark is an optional dependency: ``pip install "xlclv[spark]"`` (on Databricks and EMR it is
already there; install xlclv on the cluster so the workers can unpickle the fitted models).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._errors import InputError
from .._timeunits import check_time_unit
from .scoring import SCORE_COLUMNS, score_frame
from .sql import rfm_sql

__all__ = ["fit", "rfm_summary", "score"]

_PLACEHOLDER = "xl_spark_input"
_RFM = ("frequency", "recency", "T")


def _check_dataframe(df: Any, what: str) -> None:
    try:
        from pyspark.sql import DataFrame
    except ImportError:  # pragma: no cover - only without the extra
        raise ImportError(
            'xlclv.spark needs pyspark: pip install "xlclv[spark]" (pyspark 3.5 or later)'
        ) from None
    if not isinstance(df, DataFrame):
        raise InputError(f"{what} must be a Spark DataFrame, got {type(df).__name__}")


def _check_columns(df: Any, columns: dict[str, str], what: str) -> None:
    missing = [(arg, col) for arg, col in columns.items() if col not in df.columns]
    if missing:
        found = ", ".join(repr(c) for c in df.columns) or "none"
        arg, col = missing[0]
        raise InputError(
            f"{what} has no column {', '.join(repr(c) for _, c in missing)}; columns found: "
            f"{found}. Rename the column, or pass its name as {arg}='<column>'"
        )


def _bt(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _problems(df: Any, customer_id: str, date: str, amount: str) -> dict[str, int]:
    """Counts of rows rfm_summary would refuse: missing or unreadable values (one pass)."""
    c, d, a = (_bt(n).replace("{", "{{").replace("}", "}}") for n in (customer_id, date, amount))
    amount_value = f"try_cast({a} AS DOUBLE)"
    query = f"""SELECT
      count_if({c} IS NULL) AS missing_customer_id,
      count_if({d} IS NULL) AS missing_date,
      count_if({d} IS NOT NULL AND try_cast({d} AS DATE) IS NULL) AS unreadable_date,
      count_if({a} IS NULL) AS missing_amount,
      count_if({a} IS NOT NULL AND ({amount_value} IS NULL OR isnan({amount_value})
        OR abs({amount_value}) = double('infinity'))) AS unreadable_amount,
      max(try_cast({d} AS DATE)) AS last_date
    FROM {{tx}}"""
    row = df.sparkSession.sql(query, tx=df).collect()[0].asDict()
    last = row.pop("last_date")
    return {**{k: int(v) for k, v in row.items() if v}, "last_date": last}


def rfm_summary(
    df: Any,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
    check: bool = True,
    order_by: bool = False,
    calibration_end: object = None,
) -> Any:
    """The RFM summary of a Spark DataFrame of transactions, in Spark SQL.

    The same numbers as :func:`xlclv.transactions.rfm_summary`: purchases are amounts above 0,
    collapsed per calendar day (amounts summed); frequency = purchase days - 1; recency and T
    are exact day differences divided by the days per unit; monetary_value = mean amount of
    the repeat purchase days (0 if none); rows after ``observation_end`` are excluded.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        One row per transaction.
    customer_id, date, amount : str
        Column names. Dates are DATE, TIMESTAMP (the day in the session time zone,
        ``spark.sql.session.timeZone``) or ISO text; amounts are numbers.
    time_unit : {"D", "W", "M"}
        Unit of recency and T: days, weeks (7 days) or months (365.25/12 days).
    observation_end : date-like, optional
        The last day observed, inclusive; defaults to the last date in ``df``.
    include_zero_amounts : bool, default False
        Count amounts of exactly 0 as purchases.
    check : bool, default True
        First count the rows ``rfm_summary`` would refuse (missing ids, dates or amounts,
        unreadable dates or amounts) and raise :class:`~xlclv.InputError` if there are any;
        this costs one extra pass over ``df``. With ``check=False`` such rows are left out
        silently (missing values) or fail the query (unreadable text under ANSI mode).
    order_by : bool, default False
        Sort the result by customer id (a global sort: a full shuffle on a cluster). Spark
        DataFrames have no inherent order, so it is off by default.
    calibration_end : date-like, optional
        Split at this day and return the calibration/holdout columns of
        :func:`xlclv.transactions.rfm_summary` (``frequency_cal`` ... ``duration_holdout``),
        for the customers whose first purchase is on or before it.

    Returns
    -------
    pyspark.sql.DataFrame
        Columns: the customer id (same name and type), ``frequency``, ``recency``, ``T``,
        ``monetary_value`` (doubles); one row per customer with a purchase by
        ``observation_end`` (sorted by customer id only with ``order_by``). Lazy, like any
        Spark DataFrame.

    Raises
    ------
    InputError
        A missing column (named, with the columns found), bad rows (with ``check``), an
        unknown time unit or an unreadable ``observation_end``.
    """
    _check_dataframe(df, "df")
    check_time_unit(time_unit)
    _check_columns(df, {"customer_id": customer_id, "date": date, "amount": amount}, "df")
    query = rfm_sql(
        _PLACEHOLDER,
        dialect="spark",
        customer_id=customer_id,
        date=date,
        amount=amount,
        time_unit=time_unit,
        observation_end=observation_end,
        include_zero_amounts=include_zero_amounts,
        calibration_end=calibration_end,
        order_by=order_by,
    )
    if check:
        problems = _problems(df, customer_id, date, amount)
        last = problems.pop("last_date", None)
        if problems:
            kinds = "; ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in problems.items())
            raise InputError(
                f"df has rows rfm_summary cannot use ({kinds}); filter or fix them first "
                "(e.g. df.dropna(subset=[...])), or pass check=False to leave rows with "
                "missing values out"
            )
        if calibration_end is not None and observation_end is None and last is not None:
            cal = pd.Timestamp(calibration_end).date()
            if cal >= last:
                raise InputError(
                    f"calibration_end ({cal}) must be before observation_end ({last}, the last "
                    "date in df); the holdout period between them is empty"
                )
    # Spark formats the query like str.format and substitutes the DataFrame for {tx}: double
    # any brace a column name brings, then put the placeholder in.
    query = query.replace("{", "{{").replace("}", "}}")
    return df.sparkSession.sql(query.replace(f"`{_PLACEHOLDER}`", "{tx}"), tx=df)


def fit(
    model: Any,
    rfm_df: Any,
    *,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    monetary_value: str = "monetary_value",
) -> Any:
    """Fit an xlclv model on a Spark RFM summary: distinct rows and counts, on the driver.

    Parameters
    ----------
    model : BetaGeoModel, ParetoNBDModel or GammaGammaModel
        An xlclv model (unfitted or not; it is refitted).
    rfm_df : pyspark.sql.DataFrame
        The RFM summary, e.g. from :func:`rfm_summary`.
    frequency, recency, T, monetary_value : str
        Column names, if they differ.

    Returns
    -------
    model
        The fitted model (``fit`` returns self). The likelihood over distinct rows weighted
        by their counts is the likelihood over all customers.

    Raises
    ------
    InputError
        A model xlclv cannot fit this way, or a missing column.
    """
    from ..models import GammaGammaModel

    _check_dataframe(rfm_df, "rfm_df")
    if isinstance(model, GammaGammaModel):
        _check_columns(rfm_df, {"frequency": frequency, "monetary_value": monetary_value}, "rfm_df")
        rows = (
            rfm_df.where(rfm_df[frequency] > 0)
            .groupBy(frequency, monetary_value)
            .count()
            .toPandas()
        )
        return model.fit(rows[frequency], rows[monetary_value], weights=rows["count"])
    if not hasattr(model, "probability_alive"):
        raise InputError(
            f"fit takes a BetaGeoModel, ParetoNBDModel or GammaGammaModel, got "
            f"{type(model).__name__}"
        )
    _check_columns(rfm_df, {"frequency": frequency, "recency": recency, "T": T}, "rfm_df")
    rows = rfm_df.groupBy(frequency, recency, T).count().toPandas()
    return model.fit(rows[frequency], rows[recency], rows[T], weights=rows["count"])


def score(
    rfm_df: Any,
    purchase_model: Any,
    spend_model: Any = None,
    *,
    gross_margin: float,
    horizon_months: float,
    annual_discount_rate: float,
    time_unit: str,
) -> Any:
    """P(alive), expected purchases, expected spend and CLV per customer, on the workers.

    Each Arrow batch of ``rfm_df`` is scored with :func:`xlclv.engines.scoring.score_frame`
    through ``mapInPandas``; the fitted models travel to the workers pickled (install xlclv
    on the cluster).

    Parameters
    ----------
    rfm_df : pyspark.sql.DataFrame
        The RFM summary (``frequency``, ``recency``, ``T``, and ``monetary_value`` with a
        spend model); other columns (the customer id) are kept.
    purchase_model : BetaGeoModel or ParetoNBDModel
        Fitted in ``time_unit``.
    spend_model : GammaGammaModel, optional
        Fitted; without it only ``p_alive`` and ``expected_purchases`` are added.
    gross_margin, horizon_months, annual_discount_rate, time_unit
        As in :func:`xlclv.valuation.customer_lifetime_value`.

    Returns
    -------
    pyspark.sql.DataFrame
        The columns of ``rfm_df`` followed by ``p_alive``, ``expected_purchases`` and (with a
        spend model) ``expected_spend``, ``clv`` (doubles).
    """
    from pyspark.sql.types import DoubleType, StructField, StructType

    _check_dataframe(rfm_df, "rfm_df")
    unit = check_time_unit(time_unit)
    needed = list(_RFM) + (["monetary_value"] if spend_model is not None else [])
    _check_columns(rfm_df, {c: c for c in needed}, "rfm_df")
    added = list(SCORE_COLUMNS if spend_model is not None else SCORE_COLUMNS[:2])
    clash = [c for c in added if c in rfm_df.columns]
    if clash:
        raise InputError(f"rfm_df already has the column(s) {clash}; drop or rename them first")
    schema = StructType(
        list(rfm_df.schema.fields) + [StructField(c, DoubleType(), False) for c in added]
    )
    settings = {
        "gross_margin": gross_margin,
        "horizon_months": horizon_months,
        "annual_discount_rate": annual_discount_rate,
        "time_unit": unit,
    }

    def score_batches(batches):
        import pandas as pd

        for batch in batches:
            scored = score_frame(batch, purchase_model, spend_model, **settings)
            yield pd.concat([batch, scored], axis=1)

    return rfm_df.mapInPandas(score_batches, schema)
