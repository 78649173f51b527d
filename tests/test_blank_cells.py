"""A blank date or amount among text cells is a data issue: it never takes another row's value.

(pandas' factorize codes a missing value -1, which indexes the last distinct value: a blank
date once silently became another row's date, and a 50,000 amount with no date went into the
report unnoticed.)
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from xlclv.report.clean import clean_transactions

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
cells = st.lists(
    st.tuples(
        st.one_of(st.none(), days.map(dt.date.isoformat)),
        st.one_of(st.none(), st.integers(1, 10**6).map(lambda c: f"{c / 100:.2f}")),
    ),
    min_size=1,
    max_size=30,
)


@given(cells)
def test_blank_text_cells_are_issues_and_the_others_keep_their_values(rows):
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(rows))],
            "date": [d for d, _ in rows],
            "amount": [a for _, a in rows],
        },
        dtype=object,
    )
    tx, issues = clean_transactions(frame)
    blank = [i for i, (d, a) in enumerate(rows) if d is None or a is None]
    assert sorted(issues["Row"].tolist()) == [i + 2 for i in blank]  # Excel rows, header in 1
    kept = {f"C{i}": (d, float(a)) for i, (d, a) in enumerate(rows) if i not in blank}
    got = {r.customer_id: (r.date.date().isoformat(), r.amount) for r in tx.itertuples(index=False)}
    assert got == kept
