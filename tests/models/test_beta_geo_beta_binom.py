"""BG/BB: the published donations fit, lifetimes side by side, brute-force identities."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv._errors import FitError, InputError, NotFittedError
from xlclv.datasets import load_donations
from xlclv.models import BetaGeoBetaBinomModel

# Fader, Hardie & Shang (2010), donations data (published.md).
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PUBLISHED_LL = -33225.6
NAMES = ("alpha", "beta", "gamma", "delta")


@pytest.fixture(scope="module")
def donations():
    return load_donations()


@pytest.fixture(scope="module")
def fit(donations):
    d = donations
    return BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"], d["weights"])


def lifetimes_fitter(params):
    from lifetimes import BetaGeoBetaBinomFitter

    f = BetaGeoBetaBinomFitter()
    f.params_ = pd.Series(params)[list(NAMES)]
    return f


def brute_force(params, n, extra):
    """Every path of n + extra opportunities, weighted by its exact probability.

    Integrates over p and theta by 2-D Gauss-Jacobi quadrature on the beta densities, and
    sums over all alive/transaction paths: the model's definition, no formula of the paper.
    Returns {(x, t_x): (P(history), E[future transactions; history], P(alive at n+1;
    history))}.
    """
    from scipy import special

    alpha, beta, gamma, delta = (params[k] for k in NAMES)

    def beta_nodes(a, b):
        # Gauss-Jacobi: exact for the polynomials in p (theta) that path probabilities are.
        z, w = special.roots_jacobi(40, b - 1.0, a - 1.0)
        return (z + 1) / 2, w / w.sum()

    up, fp = beta_nodes(alpha, beta)
    ut, ft = beta_nodes(gamma, delta)
    P, TH = np.meshgrid(up, ut, indexing="ij")
    W = np.outer(fp, ft)
    out = {}
    for death in range(1, n + 2):  # dies at the start of opportunity `death` (n+1: alive)
        # P(alive at 1..death-1, dies at death), or alive through n when death = n + 1
        surv = (1 - TH) ** (death - 1) * (TH if death <= n else 1.0)
        for pattern in itertools.product((0, 1), repeat=death - 1):
            x = sum(pattern)
            tx = max((i + 1 for i, b in enumerate(pattern) if b), default=0)
            k = death - 1
            path = P**x * (1 - P) ** (k - x) * surv
            prob = np.sum(W * path)
            if death == n + 1:  # alive after n: future transactions and alive at n+1
                future = np.sum(W * path * P * sum((1 - TH) ** j for j in range(1, extra + 1)))
                alive_next = np.sum(W * path * (1 - TH))
            else:
                future = alive_next = 0.0
            prev = out.get((x, tx), (0.0, 0.0, 0.0))
            out[(x, tx)] = (prev[0] + prob, prev[1] + future, prev[2] + alive_next)
    return out


def test_reproduces_the_published_donations_fit(fit):
    # half a unit of the published third decimal; the MLE's alpha is 1.20352 (lifetimes
    # agrees to 1e-7), 4.8e-4 from the published 1.204
    for k, v in PUBLISHED.items():
        assert fit.params_[k] == pytest.approx(v, abs=5e-4), k
    assert fit.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.05)
    assert fit.converged_ and fit.fit_message_ == "converged"


def test_fit_and_standard_errors_match_lifetimes(donations, fit):
    from lifetimes import BetaGeoBetaBinomFitter

    d = donations
    lt = BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    for k in NAMES:
        assert fit.params_[k] == pytest.approx(lt.params_[k], rel=1e-4), k
        assert fit.standard_errors_[k] == pytest.approx(lt.standard_errors_[k], rel=1e-2), k
    s = fit.summary()
    assert list(s.index) == list(NAMES) and (s["standard_error"] > 0).all()


def test_one_row_per_donor_gives_the_same_fit(donations, fit):
    d = donations.loc[donations.index.repeat(donations["weights"])]
    m = BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"])
    assert m.params_ == pytest.approx(fit.params_, rel=1e-6)
    assert m.log_likelihood_ == pytest.approx(fit.log_likelihood_, abs=1e-6)


def test_predictions_agree_with_lifetimes(donations, fit):
    lt = lifetimes_fitter(fit.params_)
    x, tx, n = (donations[c].to_numpy() for c in ("frequency", "recency", "periods"))
    np.testing.assert_allclose(
        fit.probability_alive(x, tx, n), lt.conditional_probability_alive(1, x, tx, n), rtol=1e-9
    )
    np.testing.assert_allclose(
        fit.probability_alive(x, tx, n, periods_ahead=4),
        lt.conditional_probability_alive(4, x, tx, n),
        rtol=1e-9,
    )
    for m in (1, 5, 20):
        np.testing.assert_allclose(
            fit.expected_purchases(m, x, tx, n),
            lt.conditional_expected_number_of_purchases_up_to_time(m, x, tx, n),
            rtol=1e-9,
        )
    lt.data = donations.rename(columns={"periods": "n_periods"})
    table = lt.expected_number_of_transactions_in_first_n_periods(6)["model"] / 11104
    ours = fit.probability_of_purchases(6, table.index.to_numpy())
    np.testing.assert_allclose(ours, table.to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(
    "params",
    [PUBLISHED, {"alpha": 0.8, "beta": 2.0, "gamma": 1.0, "delta": 1.5}],  # gamma = 1 exactly
    ids=["published", "gamma=1"],
)
def test_against_brute_force_enumeration_of_paths(params):
    n, extra = 4, 3
    m = BetaGeoBetaBinomModel().set_params(**params)
    ref = brute_force(params, n, extra)
    keys = sorted(ref)
    x = np.array([k[0] for k in keys], float)
    tx = np.array([k[1] for k in keys], float)
    prob = np.array([ref[k][0] for k in keys])
    assert prob.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(
        m.expected_purchases(extra, x, tx, n), [ref[k][1] / ref[k][0] for k in keys], rtol=1e-7
    )
    np.testing.assert_allclose(
        m.probability_alive(x, tx, n), [ref[k][2] / ref[k][0] for k in keys], rtol=1e-7
    )
    # P(X(n) = x) sums the brute-force probabilities over t_x
    for xx in range(n + 1):
        assert m.probability_of_purchases(n, xx) == pytest.approx(prob[x == xx].sum(), rel=1e-7)
    mean = sum(k[0] * ref[k][0] for k in keys)
    assert m.expected_purchases_new_customer(n) == pytest.approx(mean, rel=1e-7)


def test_scalar_and_shapes(fit):
    assert isinstance(fit.probability_alive(3, 5, 6), float)
    assert isinstance(fit.expected_purchases(5, 3, 5, 6), float)
    assert fit.expected_purchases([1, 2, 3], 3, 5, 6).shape == (3,)
    assert isinstance(fit.expected_purchases_new_customer(6), float)
    assert fit.probability_of_purchases(6, [0, 1, 7]).shape == (3,)
    assert fit.probability_of_purchases(6, 7) == 0.0


pattern = st.integers(0, 30).flatmap(
    lambda n: st.integers(0, n).flatmap(
        lambda tx: st.tuples(st.integers(min(tx, 1), tx), st.just(tx), st.just(n))
    )
)
params = st.tuples(*(st.floats(0.05, 20) for _ in range(4)))


@settings(max_examples=150, deadline=None)
@given(pattern, params, st.integers(1, 50))
def test_predictions_are_in_range_and_monotone(hist, p, m):
    model = BetaGeoBetaBinomModel().set_params(**dict(zip(NAMES, p, strict=True)))
    x, tx, n = hist
    pa = model.probability_alive(x, tx, n)
    assert 0.0 <= pa <= 1.0
    e1, e2 = model.expected_purchases([m, 2 * m], x, tx, n)
    assert np.isfinite(e2) and 0 <= e1 <= e2 * (1 + 1e-9)
    assert e1 <= m * (1 + 1e-9)  # at most one transaction per opportunity


@pytest.mark.parametrize(
    ("x", "tx", "n", "match"),
    [
        ([2], [1], [6], "frequency cannot exceed recency"),
        ([1], [7], [6], "recency .* cannot exceed n_periods"),
        ([0], [2], [6], "recency must be 0"),
        ([1], [0], [6], "frequency cannot exceed recency"),
        ([1.5], [2], [6], "frequency must be whole numbers"),
        ([1], [2.5], [6], "recency must be a whole number"),
        ([1, 1], [2], [6], "same length"),
        ([], [], [], "no customers"),
    ],
)
def test_bad_inputs_raise_clear_input_errors(x, tx, n, match):
    with pytest.raises(InputError, match=match):
        BetaGeoBetaBinomModel().fit(x, tx, n)


def test_nobody_transacted_and_unfitted():
    with pytest.raises(FitError, match="no customer made a repeat transaction"):
        BetaGeoBetaBinomModel().fit([0, 0], [0, 0], [6, 6])
    with pytest.raises(NotFittedError):
        BetaGeoBetaBinomModel().probability_alive(1, 1, 6)


def simulate_bgbb(n_customers, params, n_periods, rng):
    """The BG/BB process itself: per customer p ~ Beta(alpha, beta), theta ~ Beta(gamma,
    delta); at each opportunity an active customer first dies with probability theta, else
    transacts with probability p."""
    p = rng.beta(params["alpha"], params["beta"], n_customers)
    theta = rng.beta(params["gamma"], params["delta"], n_customers)
    n = np.asarray(n_periods)
    alive = np.ones(n_customers, dtype=bool)
    x = np.zeros(n_customers)
    tx = np.zeros(n_customers)
    for t in range(1, int(n.max()) + 1):
        alive &= rng.random(n_customers) >= theta
        buy = alive & (rng.random(n_customers) < p) & (t <= n)
        x += buy
        tx[buy] = t
    return pd.DataFrame({"frequency": x, "recency": tx, "n_periods": n.astype(float)})


def test_fit_agrees_with_lifetimes_and_recovers_parameters_with_mixed_cohorts():
    from lifetimes import BetaGeoBetaBinomFitter

    truth = {"alpha": 1.5, "beta": 0.9, "gamma": 0.6, "delta": 3.0}
    rng = np.random.default_rng(2010)
    d = simulate_bgbb(30_000, truth, rng.integers(3, 11, 30_000), rng)
    g = d.groupby(["frequency", "recency", "n_periods"]).size().reset_index(name="w")
    m = BetaGeoBetaBinomModel().fit(g["frequency"], g["recency"], g["n_periods"], g["w"])
    lt = BetaGeoBetaBinomFitter().fit(g["frequency"], g["recency"], g["n_periods"], g["w"])
    assert m.converged_
    for k in NAMES:
        assert m.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k
        assert abs(m.params_[k] - truth[k]) < 4 * m.standard_errors_[k], k
