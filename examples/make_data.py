"""Make the example's data files, reproducibly: `python examples/make_data.py [OUT_DIR]`.

Acme's ML platform in miniature: loan applications, a credit bureau's scores (the vendor that
gets breached), open-banking transactions under an expired licence, CRM customers some of whom
withdrew consent, support tickets with an erasure request, a scraped web-forum corpus where some
pages reserve text-and-data-mining rights, a stale churn-event feed, and a demographics file
nobody can trace. Derived feature tables are computed from those sources here, for real.

One file is altered after a model trained on it: `credit_features.csv` is first written as the
credit scorer saw it on 2026-10-01, fingerprinted, then rewritten after a silent vendor backfill.
The script prints the training-time fingerprint, which `catalog.yaml` records on the feed.

Everything is seeded and CSV / JSON-lines output is byte-for-byte stable (tests check this).
Parquet and SQLite files are stable in content, not in bytes (their writers stamp versions).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REGIONS = ["DE-BY", "DE-BE", "DE-HH", "FR-IDF", "FR-ARA", "NL-NH", "ES-MD", "IT-LO"]
EMPLOYMENT = ["employed", "self_employed", "retired", "student", "unemployed"]
PLANS = ["basic", "plus", "premium"]
TOPICS = ["billing", "login", "card", "transfer", "loan", "app"]
N_APPLICANTS = 2000
N_CUSTOMERS = 1500


def day(start: date, offset: int) -> str:
    return (start + timedelta(days=offset)).isoformat()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")


def write_parquet(path: Path, columns: dict[str, list]) -> None:
    pq.write_table(pa.table(columns), path, compression="snappy")


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def loan_applications(rng: random.Random) -> list[list[object]]:
    rows = []
    for i in range(N_APPLICANTS):
        age = rng.randint(19, 78)
        if i % 333 == 7:  # a data-entry bug lets minors through: the failing expectation
            age = 17
        income = round(rng.lognormvariate(10.4, 0.45), 2)
        rows.append([
            f"A{i:05d}", age, income, round(income * rng.uniform(0.1, 0.9), 2), rng.choice([12, 24, 36, 48, 60]),
            rng.choice(REGIONS), rng.choice(EMPLOYMENT), day(date(2026, 1, 1), rng.randint(0, 320)),
        ])
    return rows


def main(out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261125)

    # --- sources ---------------------------------------------------------------------------------
    loans = loan_applications(rng)
    write_csv(out / "loan_applications.csv",
              ["applicant_id", "age", "income_eur", "loan_amount_eur", "term_months", "region", "employment_status",
               "application_date"], loans)

    repay = {"applicant_id": [], "month": [], "amount_due_eur": [], "amount_paid_eur": [], "days_late": []}
    for row in loans[:1600]:
        for month in range(1, rng.randint(3, 9)):
            due = round(row[3] / row[4], 2)
            late = rng.choice([0, 0, 0, 0, 0, 3, 12, 35])
            repay["applicant_id"].append(row[0])
            repay["month"].append(f"2026-{month:02d}")
            repay["amount_due_eur"].append(due)
            repay["amount_paid_eur"].append(due if late < 30 else round(due * 0.5, 2))
            repay["days_late"].append(late)
    write_parquet(out / "repayment_history.parquet", repay)

    bureau = [[row[0], rng.randint(300, 850), day(date(2026, 9, 1), rng.randint(0, 60))] for row in loans]
    write_csv(out / "bureau_scores.csv", ["applicant_id", "bureau_score", "score_date"], bureau)

    banking = {"applicant_id": [], "booking_date": [], "amount_eur": [], "category": []}
    for row in loans[:1200]:
        for _ in range(rng.randint(2, 6)):
            banking["applicant_id"].append(row[0])
            banking["booking_date"].append(day(date(2026, 3, 1), rng.randint(0, 120)))
            banking["amount_eur"].append(round(rng.uniform(-1500, 3200), 2))
            banking["category"].append(rng.choice(["salary", "rent", "groceries", "utilities", "gambling", "transfer"]))
    write_parquet(out / "open_banking_transactions.parquet", banking)

    income = [[region, year, round(rng.uniform(21000, 41000), 0)] for region in REGIONS for year in (2023, 2024, 2025)]
    write_csv(out / "regional_income.csv", ["region", "year", "median_income_eur"], income)

    crm_path = out / "crm.db"
    crm_path.unlink(missing_ok=True)
    with sqlite3.connect(crm_path) as crm:
        crm.execute(
            "CREATE TABLE customers (customer_id TEXT PRIMARY KEY, email_sha256 TEXT NOT NULL, signup_date TEXT, "
            "plan TEXT, country TEXT, consent_analytics INTEGER NOT NULL)"
        )
        crm.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", [
            (f"C{i:05d}", hashlib.sha256(f"customer{i}@mail.example".encode()).hexdigest(),
             day(date(2021, 1, 1), rng.randint(0, 2000)), rng.choice(PLANS), rng.choice(["DE", "FR", "NL", "ES", "IT"]),
             0 if i % 107 == 3 else 1)  # 14 customers have withdrawn consent but are still in the table
            for i in range(N_CUSTOMERS)
        ])
    crm.close()

    churn = [[f"C{rng.randrange(N_CUSTOMERS):05d}", day(date(2026, 5, 1), rng.randint(0, 105)),
              rng.choice(["downgrade", "cancel", "complaint", "inactive_30d"])] for _ in range(900)]
    write_csv(out / "churn_events.csv", ["customer_id", "event_date", "event_type"], churn)

    demographics = [[f"C{i:05d}", rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]), rng.randint(1, 6)]
                    for i in range(N_CUSTOMERS)]
    write_csv(out / "legacy_demographics.csv", ["customer_id", "age_band", "household_size"], demographics)

    tickets = []
    for i in range(600):
        customer = f"C{rng.randrange(N_CUSTOMERS):05d}"
        topic = rng.choice(TOPICS)
        tickets.append({
            "ticket_id": f"T{i:06d}", "customer_id": customer, "topic": topic,
            "created_at": day(date(2026, 6, 1), rng.randint(0, 170)),
            "body": f"Hello, this is customer {customer}. I have a question about my {topic}; "
                    f"reference {rng.randint(100000, 999999)}. Please call me back.",
        })
    write_jsonl(out / "support_tickets.jsonl", tickets)

    forum = []
    for i in range(800):
        host = rng.choice(["forum.fintalk.example", "money-matters.example", "askbanking.example"])
        forum.append({
            "doc_id": f"W{i:06d}", "url": f"https://{host}/t/{rng.randint(1000, 99999)}",
            "crawled_at": day(date(2026, 4, 1), rng.randint(0, 90)),
            # TDMRep / robots signals recorded by the crawler: one host reserves TDM rights
            "tdm_reserved": host == "money-matters.example",
            "text": f"Thread about {rng.choice(TOPICS)} fees and interest rates, post {i}.",
        })
        if i >= 740:  # cross-posted threads: the dedup step has something to remove
            forum[-1]["text"] = forum[i - 740]["text"]
    write_jsonl(out / "web_forum_corpus.jsonl", forum)

    # --- derived ---------------------------------------------------------------------------------
    scores = {row[0]: row[1] for row in bureau}
    late = {}
    for applicant, days_late in zip(repay["applicant_id"], repay["days_late"]):
        late.setdefault(applicant, []).append(days_late)
    median_income = {(r[0]): r[2] for r in income if r[1] == 2025}

    def features(score_of: dict[str, int]) -> list[list[object]]:
        rows = []
        for row in loans:
            history = late.get(row[0], [])
            rows.append([
                row[0], row[1], round(row[2] / median_income[row[5]], 4), round(row[3] / row[2], 4), row[4],
                score_of[row[0]], round(sum(history) / len(history), 2) if history else "", len(history),
            ])
        return rows

    header = ["applicant_id", "age", "income_ratio", "loan_to_income", "term_months", "bureau_score",
              "avg_days_late", "months_observed"]
    training_rows = features(scores)
    features_path = out / "credit_features.csv"
    write_csv(features_path, header, training_rows[:1600])
    trained_on = sha256(features_path)  # what credit-scorer 3.2.0 consumed on 2026-10-01

    # After training, a silent vendor backfill rewrote 41 bureau scores and the table was rebuilt.
    backfilled = dict(scores)
    for applicant in sorted(backfilled)[::39][:41]:
        backfilled[applicant] = min(850, backfilled[applicant] + 120)
    write_csv(features_path, header, features(backfilled)[:1600])
    write_csv(out / "credit_holdout.csv", header, training_rows[1600:])

    customers = {f"C{i:05d}": i for i in range(N_CUSTOMERS)}
    events: dict[str, int] = {}
    for customer, _, _ in churn:
        events[customer] = events.get(customer, 0) + 1
    bands = {row[0]: row[1] for row in demographics}
    write_parquet(out / "churn_features.parquet", {
        "customer_id": list(customers),
        "age_band": [bands[c] for c in customers],
        "events_90d": [events.get(c, 0) for c in customers],
        "churned": [events.get(c, 0) >= 2 for c in customers],
    })

    write_jsonl(out / "support_tickets_clean.jsonl", [
        {"ticket_id": t["ticket_id"], "customer_ref": hashlib.sha256(t["customer_id"].encode()).hexdigest()[:16],
         "topic": t["topic"], "body": t["body"].replace(t["customer_id"], "<CUSTOMER>")}
        for t in tickets
    ])
    seen_text: set[str] = set()
    dedup = []
    for doc in forum:
        if doc["text"] not in seen_text:
            seen_text.add(doc["text"])
            dedup.append(doc)
    write_jsonl(out / "web_corpus_dedup.jsonl", dedup)
    return trained_on


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    fingerprint = main(target)
    print(f"wrote example data to {target}")
    print(f"credit_features.csv as trained on 2026-10-01: {fingerprint}")
