"""High-precision references for the model numerics, written from the papers with mpmath.

Test-only and independent of the code under test: closed forms in Gauss's hypergeometric
function (mpmath evaluates it to any precision), likelihood ratios, and adaptive quadrature
of the defining integrals, each at two working precisions (50 and 90 digits). Each function returns an mpf.

mpmath's hyp2f1 is not always right at a given working precision (at 50 digits it returns
1.5e766 for (1-z)^q 2F1(q, B; C; z) with q = 2000.5, B = 12000, C = 12001, z = 0.909,
whose value is 0.3755), so every public reference is evaluated at two precisions and must
agree with itself (``_stable``).

Sources: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD,
eqs. 6, 8-10); Fader & Hardie (2005) "A note on deriving the Pareto/NBD model" (eqs. 11, 18,
22); Fader, Hardie & Lee (2005) "RFM and CLV" (DERT, eq. 2); Fader & Hardie (2010)
"Customer-base valuation in a contractual setting" (DEL, DERL).
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 50
_EPS = mp.mpf(10) ** -35  # a = 1 is a removable singularity: average a = 1 -+ _EPS


def _m(*v):
    return [mp.mpf(x) for x in v]


def _stable(fn):
    """Evaluate ``fn`` at 50 and 90 digits (then 250); two must agree to 1e-25."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args):
        values = []
        for dps in (50, 90, 250):
            with mp.workdps(dps):
                values.append(fn(*args))
            if not mp.isfinite(values[-1]):  # mpmath's hyp2f1 can return +-inf or 1e990
                break
            if len(values) > 1 and _close(values[-2], values[-1]):
                with mp.workdps(dps):
                    return +values[-1]
        raise ArithmeticError(f"mpmath reference {fn.__name__}{args} is not stable: {values}")

    return wrapper


def _close(u, v):
    return u == v or abs(u - v) <= mp.mpf(10) ** -25 * max(abs(u), abs(v))


# -- BG/NBD ---------------------------------------------------------------------------------
def bg_log_lik(r, alpha, a, b, x, tx, T):
    """log L(x, t_x, T), Fader, Hardie & Lee (2005), eq. (6)."""
    r, alpha, a, b, x, tx, T = _m(r, alpha, a, b, x, tx, T)
    common = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha)
    common += mp.log(mp.beta(a, b + x)) - mp.log(mp.beta(a, b))
    body = (alpha + T) ** (-(r + x))
    if x > 0:
        body += a / (b + x - 1) * (alpha + tx) ** (-(r + x))
    return common + mp.log(body)


@_stable
def bg_p_alive(r, alpha, a, b, x, tx, T):
    r, alpha, a, b, x, tx, T = _m(r, alpha, a, b, x, tx, T)
    if x == 0:
        return mp.mpf(1)
    return 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))


def _bg_mean_alive(r, alpha, a, b, x, T, t):
    """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]."""
    r, alpha, a, b, x, T, t = _m(r, alpha, a, b, x, T, t)
    if a == 1:
        with mp.workdps(mp.mp.dps + 40):  # the bracket is O(_EPS) at a = 1 +- _EPS
            return (
                _bg_mean_alive(r, alpha, a - _EPS, b, x, T, t)
                + _bg_mean_alive(r, alpha, a + _EPS, b, x, T, t)
            ) / 2
    z = t / (alpha + T + t)
    c = a + b + x - 1
    # Euler: (1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)
    return c / (a - 1) * (1 - (1 - z) ** (a - 1) * mp.hyp2f1(a + b - 1 - r, a - 1, c, z))


def _bg_mean_checked(r, alpha, a, b, x, T, t):
    """The 2F1 form, unless it leaves [0, (r+x) t/(alpha+T)] (the range of the integrand;
    mpmath's hyp2f1 has returned 1.7e40 here): then the quadrature route."""
    value = _bg_mean_alive(r, alpha, a, b, x, T, t)
    u = mp.mpf(t) / (mp.mpf(alpha) + mp.mpf(T))
    if 0 <= value <= (mp.mpf(r) + x) * u:
        return value
    return bg_alive_mean_by_quadrature(r, a, b, x, u, survival=False)


@_stable
def bg_expected(r, alpha, a, b, x, tx, T, t):
    """E[Y(t) | x, t_x, T], eq. (10)."""
    return bg_p_alive(r, alpha, a, b, x, tx, T) * _bg_mean_checked(r, alpha, a, b, x, T, t)


@_stable
def bg_expected_new(r, alpha, a, b, t):
    """E[X(t)], eq. (9)."""
    return _bg_mean_checked(r, alpha, a, b, 0, 0, t)


@_stable
def bg_pmf(r, alpha, a, b, t, n):
    """P(X(t) = n), eq. (8), the finite sum as the regularised incomplete beta function."""
    r, alpha, a, b, t, n = _m(r, alpha, a, b, t, n)
    w = t / (alpha + t)
    first = mp.beta(a, b + n) / mp.beta(a, b)
    first *= mp.exp(mp.loggamma(r + n) - mp.loggamma(r) - mp.loggamma(n + 1))
    first *= (alpha / (alpha + t)) ** r * w**n
    if n == 0:
        return first
    tail = mp.betainc(n, r, 0, w, regularized=True)  # 1 - sum_{j<n} NB(j)
    return first + mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * tail


@_stable
def bg_p_alive_future(r, alpha, a, b, x, tx, T, t):
    """P(alive) (1-z)^(r+x) 2F1(r+x, b+x; a+b+x; z), z = t/(alpha+T+t): the mean of
    exp(-lambda p t) over the posterior of a customer alive at T."""
    r, alpha, a, b, x, tx, T, t = _m(r, alpha, a, b, x, tx, T, t)
    z = t / (alpha + T + t)
    mean = (1 - z) ** a * mp.hyp2f1(a + b - r, a, a + b + x, z)  # Euler-transformed
    if not 0 <= mean <= 1:  # a probability; mpmath's hyp2f1 has returned -8.8e990 here
        mean = bg_alive_mean_by_quadrature(r, a, b, x, t / (alpha + T), survival=True)
    return bg_p_alive(r, alpha, a, b, x, tx, T) * mean


@_stable
def bg_no_purchase(r, alpha, a, b, x, tx, T, t):
    """L(x, t_x, T + t) / L(x, t_x, T): the history, then nothing until T + t."""
    return mp.exp(bg_log_lik(r, alpha, a, b, x, tx, T + t) - bg_log_lik(r, alpha, a, b, x, tx, T))


# -- Pareto/NBD -----------------------------------------------------------------------------
def _pnbd_log_a0_part(r, alpha, s, beta, x, t):
    """2F1 term of A0 (Fader & Hardie 2005 note, eqs. 19-20) at time t (log)."""
    q = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return mp.log(mp.hyp2f1(q, s + 1, q + 1, z)) - q * mp.log(alpha + t)
    z = (beta - alpha) / (beta + t)
    return mp.log(mp.hyp2f1(q, r + x, q + 1, z)) - q * mp.log(beta + t)


def pnbd_log_lik(r, alpha, s, beta, x, tx, T):
    r, alpha, s, beta, x, tx, T = _m(r, alpha, s, beta, x, tx, T)
    with mp.workdps(mp.mp.dps + 60):  # A0: a difference of two close numbers when t_x ~ T
        a0 = mp.exp(_pnbd_log_a0_part(r, alpha, s, beta, x, tx))
        a0 -= mp.exp(_pnbd_log_a0_part(r, alpha, s, beta, x, T))
        common = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        body = (alpha + T) ** (-(r + x)) * (beta + T) ** (-s) + s / (r + s + x) * a0
        return common + mp.log(body)


@_stable
def pnbd_p_alive(r, alpha, s, beta, x, tx, T):
    """Eq. (18): the 'alive throughout' branch over the whole likelihood."""
    r, alpha, s, beta, x, tx, T = _m(r, alpha, s, beta, x, tx, T)
    with mp.workdps(mp.mp.dps + 60):
        common = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        alive = common - (r + x) * mp.log(alpha + T) - s * mp.log(beta + T)
        return mp.exp(alive - pnbd_log_lik(r, alpha, s, beta, x, tx, T))


@_stable
def pnbd_no_purchase(r, alpha, s, beta, x, tx, T, t):
    """L(x, t_x, T + t) / L(x, t_x, T) (eq. 11 of the note at both ends)."""
    return mp.exp(
        pnbd_log_lik(r, alpha, s, beta, x, tx, T + t) - pnbd_log_lik(r, alpha, s, beta, x, tx, T)
    )


@_stable
def pnbd_expected(r, alpha, s, beta, x, tx, T, t):
    """Eq. (22)."""
    r, alpha, s, beta, x, tx, T, t = _m(r, alpha, s, beta, x, tx, T, t)
    if s == 1:
        mean = (r + x) / (alpha + T) * (beta + T) * mp.log((beta + T + t) / (beta + T))
    else:
        mean = (r + x) * (beta + T) / ((alpha + T) * (s - 1))
        mean *= 1 - ((beta + T) / (beta + T + t)) ** (s - 1)
    return pnbd_p_alive(r, alpha, s, beta, x, tx, T) * mean


@_stable
def pnbd_pmf(r, alpha, s, beta, t, n):
    """P(X(t) = n): alive throughout, plus died at tau < t (adaptive quadrature over tau)."""
    r, alpha, s, beta, t, n = _m(r, alpha, s, beta, t, n)
    lnb = mp.loggamma(r + n) - mp.loggamma(r) - mp.loggamma(n + 1)

    def nb(tau):
        return mp.exp(lnb + r * mp.log(alpha / (alpha + tau)) + n * mp.log(tau / (alpha + tau)))

    alive = nb(t) * (beta / (beta + t)) ** s

    def died(tau):
        return s * beta**s * (beta + tau) ** (-(s + 1)) * nb(tau)

    pts = [mp.mpf(0)] + [t * mp.mpf(10) ** -k for k in range(12, 0, -1)] + [t]
    mode = n * alpha / (r + s + 1) if n > 0 else None  # the NB factor peaks near here
    if mode is not None and 0 < mode < t:
        pts = sorted(set(pts + [mode * f for f in (mp.mpf("0.5"), 1, 2) if mode * f < t]))
    return alive + mp.quad(died, pts)


@_stable
def pnbd_dert(r, alpha, s, beta, x, tx, T, delta):
    """Fader, Hardie & Lee (2005), RFM and CLV, eq. (2) in the confluent hypergeometric U."""
    r, alpha, s, beta, x, tx, T, delta = _m(r, alpha, s, beta, x, tx, T, delta)
    c = beta + T
    inv = c**s * delta ** (s - 1) * mp.hyperu(s, s, delta * c)
    return pnbd_p_alive(r, alpha, s, beta, x, tx, T) * (r + x) / (alpha + T) * inv


# -- sBG -------------------------------------------------------------------------------------
@_stable
def sbg_derl(alpha, beta, d, n):
    """DERL(d | alpha, beta, n) = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n;
    1/(1+d)); n = 0 gives DEL = 2F1(1, beta; alpha+beta; 1/(1+d))."""
    alpha, beta, d, n = _m(alpha, beta, d, n)
    z = 1 / (1 + d)
    try:
        f = mp.hyp2f1(1, beta + n, alpha + beta + n, z)
    except ValueError:  # mpmath gives up (e.g. d = 1e-8, n = 1e7): the mean over theta
        f = _sbg_mean_by_quadrature(alpha, beta + n, d)
    return f if n == 0 else (beta + n - 1) / (alpha + beta + n - 1) * f


def _sbg_mean_by_quadrature(a, B, d):
    """E[(1+d) / (d+theta)] over theta ~ Beta(a, B) = 2F1(1, B; a+B; 1/(1+d)), integrated in
    the logit of theta (the sum over t of ((1-theta)/(1+d))^t, averaged)."""

    def f(y):
        lp, lq = -mp.log1p(mp.exp(-y)), -mp.log1p(mp.exp(y))
        return mp.exp(a * lp + B * lq) * (1 + d) / (d + mp.exp(lp))

    y0 = mp.log(a / B)
    span = 60 / min(a, B, 1) + 40
    lo = min(y0 - span, mp.log(d) - 60 / min(a, 1))
    coarse = mp.linspace(lo, y0 + span, 200)
    fine = [y for y in mp.linspace(mp.log(d) - 30, y0 + 30, 400) if lo < y < y0 + span]
    return mp.quad(f, sorted(set(coarse) | set(fine))) / mp.beta(a, B)


def bg_alive_mean_by_quadrature(r, a, b, x, u, *, survival):
    """The BG/NBD means over p ~ Beta(a, b+x) by adaptive quadrature in the logit of p, with
    the log1p/expm1 forms (a route independent of 2F1, for points where mpmath's hyp2f1
    fails): ``E[(1 - (1+pu)^-(r+x)) / p]`` or, with ``survival``, ``E[(1+pu)^-(r+x)]``."""
    with mp.workdps(30):
        a, B, q, u = _m(a, b + x, r + x, u)

        def f(y):
            lp, lq = -mp.log1p(mp.exp(-y)), -mp.log1p(mp.exp(y))
            L = q * mp.log1p(mp.exp(lp) * u)
            g = mp.exp(-L) if survival else -mp.expm1(-L) / mp.exp(lp)
            return mp.exp(a * lp + B * lq) * g

        y0 = mp.log(a / B)
        span = 60 / min(a, B, 1) + 40
        coarse = mp.linspace(y0 - span, y0 + span, 200)
        fine = [y for y in mp.linspace(-60, 60, 481) if y0 - span < y < y0 + span]
        return mp.quad(f, sorted(set(coarse) | set(fine))) / mp.beta(a, B)
