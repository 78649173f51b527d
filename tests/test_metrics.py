"""The closed-form metrics: seed examples, hand calculations, errors and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlclv import InputError, metrics

# -- strategies ---------------------------------------------------------------------------
money = st.floats(0, 1e6, allow_nan=False)
positive = st.floats(1e-3, 1e4, allow_nan=False)
months = st.floats(1, 1e4)
margin = st.floats(0, 1)
churn = st.floats(1e-4, 1)
rate = st.floats(0, 1)
score_lists = st.lists(st.integers(0, 10), min_size=1, max_size=300)


# -- seed examples (reference/published.md "Seed examples") -------------------------------
def test_seed_examples():
    assert metrics.clv_simple(80, 1, 5) == 400  # $80 a year for 5 years
    assert metrics.clv_historical(5000, 1, 3000, 100) == 20  # ($5,000 - $3,000) / 100
    assert metrics.lifetime(0.01) == pytest.approx(100)  # churn 1 % a month
    # avg monthly transactions x AOV x margin x lifetime (months)
    assert metrics.clv_predictive(2, 50, 0.3, 24) == pytest.approx(2 * 50 * 0.3 * 24)
    # % promoters - % detractors
    assert metrics.nps([10, 9, 8, 7, 6, 0]) == pytest.approx(100 * (2 - 2) / 6)


# -- hand calculations --------------------------------------------------------------------
def test_clv_simple_margin_and_acquisition_cost():
    # 120 x 2 x 3 = 720 revenue; x 0.25 = 180 margin; - 50 CAC = 130
    assert metrics.clv_simple(120, 2, 3, 0.25, 50) == pytest.approx(130)


def test_clv_historical_sums_lists_and_skips_nan():
    # (100 + 200 + 300) x 0.5 = 300; - (20 + 30) = 250; / 2 customers = 125
    got = metrics.clv_historical([100, 200, np.nan, 300], 0.5, [20, np.nan, 30], 2)
    assert got == pytest.approx(125)


def test_clv_predictive_discounted():
    # lifetime 10 months -> churn 0.1; d = 0.02: (1.02) / (0.02 + 0.1) = 8.5 months
    # 1.5 x 40 x 0.5 = 30 a month -> 255
    assert metrics.clv_predictive(1.5, 40, 0.5, 10, 0.02) == pytest.approx(255)


def test_clv_predictive_discounted_equals_explicit_geometric_sum():
    t, v, m, life, d = 2.0, 35.0, 0.4, 18.0, 0.01
    r = 1 - 1 / life
    explicit = sum(t * v * m * (r / (1 + d)) ** k for k in range(5000))
    assert metrics.clv_predictive(t, v, m, life, d) == pytest.approx(explicit, rel=1e-9)


def test_lifetime_discounted_hand_value():
    assert metrics.lifetime_discounted(0.2, 0.1) == pytest.approx(1.1 / 0.3)
    assert metrics.lifetime_discounted(0.2, 0) == pytest.approx(5)


def test_rates_and_unit_economics_hand_values():
    assert metrics.churn_rate(200, 30) == pytest.approx(0.15)
    assert metrics.retention_rate(200, 210, 40) == pytest.approx(0.85)  # (210 - 40) / 200
    assert metrics.arpu(12_000, 400) == pytest.approx(30)
    assert metrics.ltv_cac(900, 300) == pytest.approx(3)
    assert metrics.cac_payback(300, 50, 0.6) == pytest.approx(10)  # 300 / 30


def test_nps_category_boundaries():
    got = metrics.nps_category([0, 6, 7, 8, 9, 10])
    assert got.tolist() == ["Detractor", "Detractor", "Passive", "Passive", "Promoter", "Promoter"]
    assert metrics.nps_category(9) == "Promoter"
    assert metrics.nps_category(np.nan) is None


def test_nps_interval_hand_value():
    # 50 promoters, 20 passives, 30 detractors of 100: NPS 20;
    # var = (0.5 + 0.3 - 0.2^2) / 100 = 0.0076; se = 0.0871779...; z(0.95) = 1.959964
    scores = [10] * 50 + [8] * 20 + [3] * 30
    low, high = metrics.nps_interval(scores)
    half = 100 * 1.959963984540054 * math.sqrt(0.0076)
    assert (low, high) == pytest.approx((20 - half, 20 + half))
    # a wider confidence gives a wider interval
    low99, high99 = metrics.nps_interval(scores, 0.99)
    assert low99 < low and high99 > high


def test_nps_interval_is_clipped_and_degenerate_when_all_agree():
    assert metrics.nps_interval([10, 10, 10, 0])[1] <= 100
    assert metrics.nps_interval([10, 10, 10]) == (100, 100)
    low, _ = metrics.nps_interval([0, 0, 0, 10], 0.999)
    assert low == -100


def test_scalars_in_scalars_out_arrays_broadcast():
    assert isinstance(metrics.lifetime(0.5), float)
    got = metrics.clv_simple(np.array([[10.0], [20.0]]), 2, np.array([[1.0], [3.0]]))
    assert got.shape == (2, 1)
    np.testing.assert_allclose(got, [[20], [120]])
    np.testing.assert_allclose(metrics.lifetime([0.5, np.nan]), [2, np.nan])  # NaN passes through


# -- errors a finance user understands ----------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.lifetime(1.5), "churn_rate must be greater than 0 and at most 1, got 1.5"),
        (lambda: metrics.lifetime(0), "churn_rate must be greater than 0 and at most 1, got 0"),
        (lambda: metrics.lifetime(-0.1), "churn_rate must be greater than 0 and at most 1, got -0.1"),
        (lambda: metrics.lifetime_discounted(0.1, -0.05), "discount_rate must be 0 or more, got -0.05"),
        (lambda: metrics.clv_simple(80, 1, 5, 30), r"gross_margin must be a share between 0 and 1 \(e.g. 0.3 for 30 %\), got 30"),
        (lambda: metrics.clv_simple(-80, 1, 5), "avg_order_value must be 0 or more, got -80"),
        (lambda: metrics.clv_simple("abc", 1, 5), "avg_order_value must be a number or an array of numbers, got 'abc'"),
        (lambda: metrics.clv_simple([1, 2], 1, [1, 2, 3]), "incompatible shapes"),
        (lambda: metrics.clv_historical(5000, 1, 3000, 0), "customers must be a whole number of at least 1, got 0"),
        (lambda: metrics.clv_historical(5000, 1, 3000, 2.5), "customers must be a whole number of at least 1, got 2.5"),
        (lambda: metrics.clv_historical([np.nan], 1), "amounts has no values"),
        (lambda: metrics.clv_historical(5000, 1, -1), "costs must be 0 or more, got -1"),
        (lambda: metrics.clv_predictive(1, 50, 0.3, 0.5), r"lifetime_months must be at least 1 \(it is read as monthly churn 1 / lifetime_months, at most 1\), got 0.5"),
        (lambda: metrics.churn_rate(0, 0), "customers_at_start must be greater than 0, got 0"),
        (lambda: metrics.churn_rate(10, 11), r"customers_lost \(11\) cannot exceed customers_at_start \(10\)"),
        (lambda: metrics.retention_rate(10, 5, 6), r"new_customers \(6\) cannot exceed customers_at_end \(5\)"),
        (lambda: metrics.retention_rate(10, 15, 2), r"customers_at_end minus new_customers \(13\) cannot exceed customers_at_start \(10\)"),
        (lambda: metrics.arpu(100, 0), "customers must be greater than 0, got 0"),
        (lambda: metrics.ltv_cac(100, 0), "cac must be greater than 0, got 0"),
        (lambda: metrics.cac_payback(100, 10, 0), "gross_margin must be greater than 0 and at most 1, got 0"),
        (lambda: metrics.nps([9, 10, 11]), r"scores must be whole numbers from 0 to 10, got 11 \(value 3\)"),
        (lambda: metrics.nps([9, 7.5]), r"got 7.5 \(value 2\)"),
        (lambda: metrics.nps([]), "scores has no responses"),
        (lambda: metrics.nps_category(-1), "score must be whole numbers from 0 to 10, got -1"),
        (lambda: metrics.nps_interval([9, 10], 95), r"confidence must be greater than 0 and less than 1 \(e.g. 0.95\), got 95"),
        (lambda: metrics.lifetime(np.inf), "churn_rate must be a finite number, got inf"),
    ],
)  # fmt: skip
def test_bad_input_messages(call, message):
    with pytest.raises(InputError, match=message):
        call()


# -- properties ---------------------------------------------------------------------------
@given(money, positive, positive, margin, margin, st.floats(0, 2))
def test_clv_simple_monotone_in_margin_orders_and_lifetime(v, f, life, m1, m2, k):
    lo, hi = sorted((m1, m2))
    assert metrics.clv_simple(v, f, life, lo) <= metrics.clv_simple(v, f, life, hi)
    assert metrics.clv_simple(v, f, life, hi) <= metrics.clv_simple(v, f * (1 + k), life, hi)
    assert metrics.clv_simple(v, f, life, hi) <= metrics.clv_simple(v, f, life * (1 + k), hi)


@given(positive, money, margin, margin, months, st.floats(0, 2), rate)
def test_clv_predictive_monotone_in_margin_orders_and_lifetime(t, v, m1, m2, life, k, d):
    lo, hi = sorted((m1, m2))
    base = metrics.clv_predictive(t, v, hi, life, d)
    assert metrics.clv_predictive(t, v, lo, life, d) <= base
    assert base <= metrics.clv_predictive(t * (1 + k), v, hi, life, d) * (1 + 1e-12)
    assert base <= metrics.clv_predictive(t, v, hi, life * (1 + k), d) * (1 + 1e-12)


@given(positive, money, margin, months, st.floats(1e-4, 1))
def test_discounting_never_adds_value(t, v, m, life, d):
    assert metrics.clv_predictive(t, v, m, life, d) <= metrics.clv_predictive(t, v, m, life) * (
        1 + 1e-12
    )


@given(churn, rate)
def test_lifetime_discounted_at_most_lifetime(c, d):
    assert metrics.lifetime_discounted(c, d) <= metrics.lifetime(c) * (1 + 1e-12)
    assert metrics.lifetime_discounted(c, 0) == pytest.approx(metrics.lifetime(c))


@given(churn)
def test_lifetime_is_the_reciprocal_of_churn(c):
    assert metrics.lifetime(c) * c == pytest.approx(1)


@given(score_lists)
def test_nps_in_range_and_interval_contains_it(scores):
    point = metrics.nps(scores)
    assert -100 <= point <= 100
    low, high = metrics.nps_interval(scores)
    assert -100 <= low <= point + 1e-9 and point - 1e-9 <= high <= 100


@given(score_lists)
def test_nps_agrees_with_categories(scores):
    cats = list(metrics.nps_category(scores))
    expected = 100 * (cats.count("Promoter") - cats.count("Detractor")) / len(scores)
    assert metrics.nps(scores) == pytest.approx(expected)


@given(st.integers(1, 10_000), st.data())
def test_churn_plus_retention_is_one_without_new_customers(start, data):
    lost = data.draw(st.integers(0, start))
    c = metrics.churn_rate(start, lost)
    r = metrics.retention_rate(start, start - lost, 0)
    assert 0 <= c <= 1 and c + r == pytest.approx(1)


@given(st.floats(-1e6, 1e6), positive, st.floats(0.01, 1), st.floats(0.01, 1e4))
def test_unit_economics_identities(revenue, customers, m, cac):
    assert metrics.arpu(revenue, customers) * customers == pytest.approx(revenue, abs=1e-6)
    per_month = abs(revenue) + 1
    months = metrics.cac_payback(cac, per_month, m)
    assert months * per_month * m == pytest.approx(cac)
    assert metrics.ltv_cac(cac * 3, cac) == pytest.approx(3)


def test_every_metric_is_exported_from_the_package():
    import xlclv

    for name in metrics.__all__:
        assert getattr(xlclv, name) is getattr(metrics, name)
        assert name in xlclv.__all__
