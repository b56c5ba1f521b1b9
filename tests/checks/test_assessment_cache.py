"""Assessments are computed once per what they depend on, and never served after any of it changed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from catalog.loader import load_catalog
from checks import risk, service
from checks.assessment_cache import KeyedAnswers
from checks.findings import findings_page
from checks.policy import DEFAULT, load_policy

AS_OF = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)

CATALOG = """\
catalog: t
datasets:
  - {name: src, owner: o, origin: internal, personal_data: true, legal_basis: consent, purpose: p, location: %s}
  - {name: mid, owner: o, origin: internal, personal_data: true, legal_basis: consent, purpose: p,
     derived_from: [src], documentation: "https://d", bias_examination: {status: passed}}
  - {name: side, owner: o, origin: internal, personal_data: true, legal_basis: consent, purpose: p,
     derived_from: [src], documentation: "https://d", bias_examination: {status: passed}}
models:
  - {name: hi, risk_tier: high, trained_on: [{dataset: mid}, {dataset: side}]}
  - {name: lo, risk_tier: minimal, trained_on: [{dataset: mid}]}
  - {name: tuned, risk_tier: minimal, base_model: hi}
incidents:
  - {dataset: src, kind: consent_withdrawn, opened: 2026-11-10}
  - {dataset: mid, kind: breach, opened: 2026-11-12}
"""


@pytest.fixture
def loaded(store, tmp_path, people_csv):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG % people_csv)
    load_catalog(store, [path])
    risk.ASSESSMENTS.clear()
    return store, path


def test_the_same_question_is_answered_from_memory(loaded):
    store, _ = loaded
    before = risk.ASSESSMENTS.computed
    first = risk.assess(store, as_of=AS_OF)
    again = risk.assess(store, as_of=AS_OF)
    assert again is first
    assert risk.ASSESSMENTS.computed == before + 1


def test_a_write_a_check_run_or_another_policy_is_a_new_assessment(loaded, tmp_path):
    store, path = loaded
    first = risk.assess(store, as_of=AS_OF)
    path.write_text(path.read_text().replace("kind: breach", "kind: poisoning"))
    load_catalog(store, [path])
    after_write = risk.assess(store, as_of=AS_OF)
    assert after_write is not first
    assert {c.condition for c in after_write.conditions} != {c.condition for c in first.conditions}

    service.run_checks(store, ["dataset:t:src"], force=True)
    after_run = risk.assess(store, as_of=AS_OF)
    assert after_run is not after_write

    stricter = tmp_path / "policy.yaml"
    stricter.write_text(DEFAULT.read_text().replace("severity: {high: high", "severity: {high: critical", 1))
    other = risk.assess(store, as_of=AS_OF, policy=load_policy(stricter))
    assert other is not after_run
    assert risk.assess(store, as_of=AS_OF) is after_run  # the default policy's answer is still kept


def test_another_moment_is_another_assessment(loaded):
    store, _ = loaded
    now = risk.assess(store, as_of=AS_OF)
    earlier = risk.assess(store, as_of=AS_OF - timedelta(days=14))
    assert earlier is not now
    assert earlier.as_of == AS_OF - timedelta(days=14)
    # before the breach opened (2026-11-12) it is not a condition yet
    assert "breach_flagged" in {c.condition for c in now.conditions}
    assert "breach_flagged" not in {c.condition for c in earlier.conditions}


def test_an_assessment_of_now_is_reused_only_while_fresh():
    moments = iter([datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc) + timedelta(seconds=s) for s in (0, 30, 61, 62)])
    clock_now = {"t": None}

    def clock() -> datetime:
        return clock_now["t"]

    answers: KeyedAnswers[datetime] = KeyedAnswers(fresh_for=timedelta(seconds=60), clock=clock)
    judged = []
    for _ in range(3):
        clock_now["t"] = next(moments)
        judged.append(answers.get("k", lambda moment: moment, moment=None))
    assert judged[0] == judged[1] == datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)  # 30 s later: reused
    assert judged[2] == datetime(2026, 1, 1, 12, 1, 1, tzinfo=timezone.utc)  # 61 s later: judged again
    assert answers.computed == 2
    past = datetime(2025, 1, 1, tzinfo=timezone.utc)
    clock_now["t"] = next(moments)
    assert answers.get("p", lambda moment: moment, moment=past) == past
    clock_now["t"] += timedelta(days=365)
    assert answers.get("p", lambda moment: (_ for _ in ()).throw(AssertionError("recomputed")), moment=past) == past


def test_concurrent_requests_for_one_key_compute_it_once():
    answers: KeyedAnswers[int] = KeyedAnswers()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(moment: datetime) -> int:
        calls.append(moment)
        started.set()
        release.wait(10)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(answers.get("k", slow, moment=None))) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == [42] * 8
    assert len(calls) == 1


def test_only_the_last_few_answers_are_kept():
    answers: KeyedAnswers[str] = KeyedAnswers(keep=2)
    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for key in ("a", "b", "c"):
        answers.get(key, lambda _m, key=key: key, moment=moment)
    assert answers.get("a", lambda _m: "again", moment=moment) == "again"  # "a" was dropped for "c"
    assert answers.get("c", lambda _m: "never", moment=moment) == "c"


def test_a_page_of_findings_is_that_slice_of_the_full_report(loaded):
    store, _ = loaded
    full = risk.evaluate(store, as_of=AS_OF, path_limit=2)
    assert len(full.findings) >= 6
    for offset, limit in ((0, 3), (2, 3), (5, 100)):
        page = findings_page(store, as_of=AS_OF, path_limit=2, limit=limit, offset=offset)
        assert page.total == len(full.findings)
        assert [f.model_dump() for f in page.findings] == [f.model_dump() for f in full.findings[offset:offset + limit]]
    hi_node = next(f.node for f in full.findings if f.node_kind == "model" and f.node.rsplit(":", 1)[-1].startswith("hi@"))
    hi = findings_page(store, as_of=AS_OF, model="hi", path_limit=2)
    assert [f.model_dump() for f in hi.findings] == [f.model_dump() for f in full.findings if f.node == hi_node]
    assert any(f.paths for f in hi.findings)
