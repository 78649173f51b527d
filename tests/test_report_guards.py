"""Loud guards (issue 10): each case of the issue's "Why" on a small generated file gives the
same customers and revenue as the clean file, or a loud warning, never a silently different
number."""

from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlclv.cli import main
from xlclv.report import Settings, build_report
from xlclv.report import pipeline as p
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.writer import write_report

TODAY = pd.Timestamp("2025-06-30")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(p, "today", lambda: TODAY)


def shop(n_customers: int = 200, seed: int = 7, extra: dict | None = None) -> pd.DataFrame:
    """A small shop simulated from BG/NBD (r=0.5, alpha=4 weeks, a=1, b=3): first purchases
    over 2024's first half, repeat purchases to the end of 2024; a region column."""
    from xlclv.simulate import bgnbd_purchase_times

    rng = np.random.default_rng(seed)
    start = rng.integers(0, 182, size=n_customers)
    T = (365 - start) / 7.0
    times = bgnbd_purchase_times(n_customers, 0.5, 4.0, 1.0, 3.0, T, rng)
    nu = rng.gamma(4.0, 1 / 60.0, size=n_customers)  # Gamma-Gamma spend, p=6, q=4, v=60
    rows = []
    for c in range(n_customers):
        region = ["North", "South", "East"][c % 3]
        days = sorted({int(start[c])} | {int(start[c] + 7 * t) for t in times[c]})
        for d in days:
            day = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)).date().isoformat()
            rows.append((f"C{c:03d}", day, round(float(rng.gamma(6.0, 1 / nu[c])), 2), region))
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "region"], dtype=object)
    frame.insert(0, "order_id", [f"O{i:05d}" for i in range(len(frame))])
    for name, values in (extra or {}).items():
        frame[name] = values(frame)
    return frame


def report(frame: pd.DataFrame, **settings):
    settings.setdefault("model", "BGNBD")  # the guards, not the model choice, are tested here
    return build_report(
        WorkbookInputs(transactions=frame.reset_index(drop=True)), Settings(**settings)
    )


def revenue_by_customer(r) -> pd.Series:
    return r.customers.set_index("Customer ID")["Revenue"].sort_index()


def same_as_clean(r, clean) -> None:
    assert revenue_by_customer(r).to_dict() == pytest.approx(revenue_by_customer(clean).to_dict())


@pytest.fixture(scope="module")
def base_frame():
    return shop()


@pytest.fixture(scope="module")
def clean_report(base_frame):
    import xlclv.report.pipeline as pp

    old = pp.today
    pp.today = lambda: TODAY
    try:
        return report(base_frame)
    finally:
        pp.today = old


def _with_row(frame: pd.DataFrame, row: dict, at: int = 5) -> pd.DataFrame:
    top, bottom = frame.iloc[:at], frame.iloc[at:]
    return pd.concat([top, pd.DataFrame([row], dtype=object), bottom], ignore_index=True)


# -- future dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typo", ["2031-01-01", "2042-07-04"])
def test_a_date_after_today_is_a_data_issue_not_the_observation_end(base_frame, clean_report, typo):
    row = {"order_id": "X1", "customer_id": "C001", "date": typo, "amount": 25.0}
    row["region"] = "North"
    r = report(_with_row(base_frame, row, at=5))
    assert r.summary["observation_end"] == clean_report.summary["observation_end"]
    same_as_clean(r, clean_report)
    assert r.summary["total_predicted_clv"] == pytest.approx(
        clean_report.summary["total_predicted_clv"], rel=1e-9
    )
    [issue] = r.issues.to_dict("records")
    assert issue["Row"] == 7  # header in row 1, inserted as the 6th data row
    assert issue["Column"] == "date" and issue["Value"] == typo
    assert "after today (2025-06-30" in issue["Problem"] and "observation_end" in issue["Problem"]


def test_a_future_date_is_used_when_observation_end_is_set_beyond_it(base_frame):
    row = {"order_id": "X1", "customer_id": "C001", "date": "2025-08-01", "amount": 25.0}
    row["region"] = "North"
    r = report(_with_row(base_frame, row), observation_end="2025-12-31")
    assert r.issues.empty
    assert r.summary["observation_end"].isoformat() == "2025-12-31"


# -- material loss --------------------------------------------------------------------------------


def test_rejected_rows_above_the_share_are_a_red_banner_a_console_line_and_exit_3(
    base_frame, tmp_path, capsys
):
    frame = base_frame.copy()
    bad = frame.index[::20]  # 5 % of the rows: amounts nobody can read
    frame.loc[bad, "amount"] = "see invoice"
    r = report(frame)
    [warning] = r.summary["warnings"]
    assert f"{len(bad):,} of {len(frame):,} transaction rows" in warning
    share = f"({len(bad) / len(frame):.1%})"
    assert share in warning and f"the {len(bad)} row(s) whose amount could not be read" in warning
    path = write_report(r, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Dashboard"]
    assert ws["A3"].value.startswith("WARNING: ") and warning in ws["A3"].value
    assert ws["A3"].fill.fgColor.rgb.endswith("C00000")
    csv = tmp_path / "bad.csv"
    frame.to_csv(csv, index=False)
    code = main(["report", str(csv), "-o", str(tmp_path / "cli.xlsx")])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 3
    assert f"warning: {len(bad):,} of {len(frame):,} transaction rows {share}" in out


def test_a_small_share_of_rows_can_be_a_large_share_of_revenue(base_frame):
    row = {"order_id": "X1", "customer_id": "C002", "date": None, "amount": 50_000.0}
    row["region"] = "North"
    r = report(_with_row(base_frame, row))
    [warning] = r.summary["warnings"]
    assert f"1 of {len(base_frame) + 1:,} transaction rows" in warning
    total = 50_000 + base_frame["amount"].astype(float).abs().sum()
    assert f"{50_000 / total:.1%} of the amounts" in warning


def test_under_the_share_no_warning_and_exit_0(base_frame, tmp_path):
    frame = base_frame.copy()
    frame.loc[frame.index[0], "amount"] = "oops"  # 1 row of ~200: below 1 %
    r = report(frame, gross_margin=0.4, max_rejected_share=0.05)
    assert r.summary["warnings"] == []
    assert len(r.issues) == 1


def test_a_model_that_did_not_converge_says_so_once_and_consistently(tmp_path):
    rows = [("A", "2024-01-01", 10.0), ("A", "2024-02-01", 12.0)]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"], dtype=object)
    r = report(frame, model="BGNBD")
    [warning] = [w for w in r.summary["warnings"] if "spend" not in w]
    assert warning.startswith("The BG/NBD model did not converge")
    items = dict(zip(r.model_fit["Item"], r.model_fit["Value"], strict=False))
    assert items["Purchase model converged"] == "NO"
    assert items["Purchase model message"] == warning
    assert "terminated successfully" not in " ".join(map(str, r.model_fit["Value"]))
    path = write_report(r, tmp_path / "nc.xlsx")
    assert warning in openpyxl.load_workbook(path)["Dashboard"]["A3"].value


# -- duplicates and totals ------------------------------------------------------------------------


def test_a_repeated_order_is_listed_and_counted_once(base_frame, clean_report):
    repeat = base_frame.iloc[10].to_dict()
    frame = pd.concat([base_frame, pd.DataFrame([repeat] * 2, dtype=object)], ignore_index=True)
    r = report(frame.sample(frac=1.0, random_state=3))
    same_as_clean(r, clean_report)
    dups = r.issues[r.issues["Problem"].str.startswith("duplicate of row")]
    assert len(dups) == 2 and set(dups["Value"]) == {repeat["order_id"]}
    assert r.summary["warnings"] == []  # counted once is not a loss


def test_an_order_id_reused_for_another_customer_is_listed_and_not_used(base_frame):
    clash = base_frame.iloc[10].to_dict() | {"customer_id": "C999", "amount": 99.0}
    r = report(_with_row(base_frame, clash, at=40))
    [issue] = r.issues.to_dict("records")
    assert issue["Row"] == 42 and issue["Column"] == "order_id"
    assert (
        f"already on row 12 for customer {base_frame.iloc[10]['customer_id']}" in (issue["Problem"])
    )
    assert "C999" not in set(r.customers["Customer ID"])


def test_shopify_name_column_is_the_order_id(base_frame, clean_report):
    frame = base_frame.rename(columns={"order_id": "Name"})
    frame["Name"] = [f"#{1001 + i}" for i in range(len(frame))]
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    r = report(frame)
    same_as_clean(r, clean_report)
    assert r.issues["Problem"].str.startswith("duplicate of row 5").sum() == 1
    assert "Name" not in r.segments


@pytest.mark.parametrize("label", ["Total", "Grand total", "GRAND TOTAL"])
@pytest.mark.parametrize("date", ["2024-12-31", None])
def test_a_totals_row_is_listed_and_left_out(base_frame, clean_report, label, date):
    total = round(float(base_frame["amount"].astype(float).sum()), 2)
    row = {"order_id": None, "customer_id": label, "date": date, "amount": total}
    frame = pd.concat([base_frame, pd.DataFrame([row], dtype=object)], ignore_index=True)
    r = report(frame)
    same_as_clean(r, clean_report)
    [issue] = r.issues.to_dict("records")
    assert issue["Row"] == len(frame) + 1
    assert "totals row" in issue["Problem"] and "left out" in issue["Problem"]
    assert r.summary["warnings"] == []


def test_a_customer_called_total_is_kept_with_a_caveat(base_frame):
    row = {"order_id": "X", "customer_id": "Total", "date": "2024-05-05", "amount": 12.0}
    r = report(_with_row(base_frame, row | {"region": "North"}))
    assert "Total" in set(r.customers["Customer ID"])
    [issue] = r.issues.to_dict("records")
    assert "kept as a customer" in issue["Problem"]


# -- clashes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Tier", "Orders", "Revenue", "Customers", "tier", "Predicted CLV"]
)
def test_a_segment_named_like_a_report_column_keeps_its_data(base_frame, tmp_path, name):
    frame = base_frame.copy()
    frame[name] = np.where(frame["customer_id"].str[-1].isin(list("02468")), "Gold", "Silver")
    r = report(frame)
    c = r.customers
    assert name in c.columns
    assert set(c[name]) == {"Gold", "Silver"}
    even = c["Customer ID"].str[-1].isin(list("02468"))
    assert (c.loc[even, name] == "Gold").all() and (c.loc[~even, name] == "Silver").all()
    headers = [h.casefold() for h in c.columns]
    assert len(headers) == len(set(headers))
    if name.casefold() == "tier":
        assert set(c["CLV tier"]) <= {"Top 10%", "Next 20%", "Rest"}
    seg = r.segments[name]
    assert seg.columns[0] == name and set(seg[name]) == {"Gold", "Silver"}
    assert seg.filter(like="Customers").iloc[:, -1].sum() == len(c)
    path = write_report(r, tmp_path / "clash.xlsx")
    ws = openpyxl.load_workbook(path)["Customers"]
    assert [x.value for x in ws[1]] == list(c.columns)


# -- nothing vanishes -----------------------------------------------------------------------------


def test_returns_only_customers_are_listed_and_their_returns_count(base_frame):
    rows = [
        {"order_id": "R1", "customer_id": "RET", "date": "2024-03-01", "amount": -40.0},
        {"order_id": "R2", "customer_id": "RET", "date": "2024-04-01", "amount": -10.0},
    ]
    frame = pd.concat([base_frame, pd.DataFrame(rows, dtype=object)], ignore_index=True)
    r = report(frame)
    [issue] = r.issues.to_dict("records")
    assert issue["Value"] == "RET" and issue["Row"] == len(base_frame) + 2
    assert "2 return(s), -50.00" in issue["Problem"]
    items = dict(zip(r.model_fit["Item"], r.model_fit["Value"], strict=False))
    gross = base_frame["amount"].astype(float).sum()
    assert items["Returns"] == pytest.approx(50.0)
    assert items["Return rate"] == pytest.approx(50.0 / gross)


def test_zero_amount_purchases_count_by_default_and_a_setting_excludes_them(base_frame):
    rows = [
        {"order_id": "Z1", "customer_id": "FREE", "date": "2024-02-01", "amount": 0.0},
        {"order_id": "Z2", "customer_id": "C000", "date": "2024-12-30", "amount": 0},
    ]
    frame = pd.concat([base_frame, pd.DataFrame(rows, dtype=object)], ignore_index=True)
    r = report(frame)
    assert "FREE" in set(r.customers["Customer ID"])
    assert r.issues.empty
    c0 = r.customers.set_index("Customer ID").loc["C000"]
    by_hand = frame[frame["customer_id"] == "C000"]
    assert c0["Orders"] == len(by_hand)
    off = report(frame, include_zero_amounts=False)
    assert "FREE" not in set(off.customers["Customer ID"])
    assert off.customers.set_index("Customer ID").loc["C000", "Orders"] == len(by_hand) - 1
    assert off.issues["Problem"].str.contains("include_zero_amounts").sum() == 3


@pytest.mark.slow
def test_cdnow_counts_the_customers_whose_only_purchase_was_free():
    from xlclv.report.sample import cdnow_inputs

    inputs = cdnow_inputs()
    r = build_report(inputs, Settings.from_values(inputs.settings))
    assert r.summary["customers"] == 2357  # the published CDNOW sample


def test_text_longer_than_a_cell_is_a_data_issue(base_frame):
    frame = base_frame.copy()
    frame.loc[frame.index[4], "region"] = "x" * 40_000
    r = report(frame, max_rejected_share=0.5)
    [issue] = r.issues.to_dict("records")
    assert issue["Row"] == 6 and issue["Column"] == "region"
    assert "40,000 characters" in issue["Problem"] and len(issue["Value"]) < 100


# -- defaults a finance user cannot miss ----------------------------------------------------------


def test_no_margin_means_revenue_on_the_tiles_and_the_console(base_frame, tmp_path, capsys):
    r = report(base_frame, model="BGNBD")
    path = write_report(r, tmp_path / "m.xlsx")
    ws = openpyxl.load_workbook(path)["Dashboard"]
    assert ws["E4"].value == "Total predicted CLV = REVENUE"
    assert ws["E7"].value == "at 100% margin: revenue, NOT profit"
    assert "REVENUE at 100% margin, not profit" in ws["A11"].value
    assert "P(alive) = 100%" in ws["A11"].value and "ModifiedBetaGeoModel" in ws["A11"].value
    with_margin = write_report(report(base_frame, gross_margin=0.3), tmp_path / "m30.xlsx")
    ws = openpyxl.load_workbook(with_margin)["Dashboard"]
    assert ws["E4"].value == "Total predicted CLV"
    assert "100% margin" not in str(ws["A11"].value)
    csv = tmp_path / "shop.csv"
    base_frame.to_csv(csv, index=False)
    main(["report", str(csv), "-o", str(tmp_path / "cli.xlsx")])
    assert "CLV is REVENUE at 100% margin, not profit" in " ".join(capsys.readouterr().out.split())


# -- segment guessing -----------------------------------------------------------------------------


def test_only_meaningful_columns_become_segments_and_the_choice_is_explained(
    base_frame, tmp_path, capsys
):
    frame = base_frame.copy()
    n = len(frame)
    frame["Financial Status"] = np.where(np.arange(n) % 4 == 0, "refunded", "paid")
    frame["Currency"] = "USD"
    frame["Email"] = frame["customer_id"] + "@example.com"
    frame["Shipped"] = "2024-02-0" + (np.arange(n) % 9 + 1).astype(str)
    frame["Items"] = (np.arange(n) % 7 + 1).astype(str)
    frame["Store ID"] = "S" + (np.arange(n) % 3).astype(str)
    frame["channel"] = np.where(np.arange(n) % 2 == 0, "Web", "Shop")
    r = report(frame)
    assert r.summary["segments_chosen"] == ["region", "channel"]
    skipped = dict(r.summary["segments_skipped"])
    assert skipped == {
        "order_id": "an id column",
        "Financial Status": (
            "an order-level field (it changes from order to order), not a customer group"
        ),
        "Currency": "one value only",
        "Email": "e-mail addresses",
        "Shipped": "dates",
        "Items": "numbers (an amount or a count, not a group)",
        "Store ID": "an id column",
    }
    model_notes = " ".join(r.model_fit.loc[r.model_fit["Item"] == "Note", "Value"])
    assert "'Currency' (one value only)" in model_notes
    csv = tmp_path / "cols.csv"
    frame.to_csv(csv, index=False)
    main(["report", str(csv), "-o", str(tmp_path / "cols.xlsx")])
    out = capsys.readouterr().out
    assert "segments             region, channel" in out
    assert "not a segment: 'Currency' (one value only)" in out


def test_named_segments_are_used_whatever_they_look_like(base_frame):
    frame = base_frame.copy()
    frame["Currency"] = "USD"
    r = report(frame, segment_by="Currency")
    assert list(r.segments) == ["Currency"]


def test_report_row_numbers_and_zip_are_valid(base_frame, tmp_path):
    """Sanity: the guarded report leaves the raw table as it was and writes a valid package."""
    before = base_frame.copy()
    r = report(base_frame)
    pd.testing.assert_frame_equal(base_frame, before)
    path = write_report(r, tmp_path / "ok.xlsx")
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize(
    "old", [pd.Timestamp("1850-03-01"), pd.Timestamp("1899-12-31").to_pydatetime(), "1899-12-31"]
)
def test_dates_before_1900_are_rejected_whatever_their_form(base_frame, clean_report, old):
    row = {"order_id": "X1", "customer_id": "C001", "date": old, "amount": 25.0}
    r = report(_with_row(base_frame, row | {"region": "North"}), max_rejected_share=0.5)
    same_as_clean(r, clean_report)
    [issue] = r.issues.to_dict("records")
    assert issue["Row"] == 7 and "1900" in issue["Problem"] and "not used" in issue["Problem"]
