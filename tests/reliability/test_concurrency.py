"""Concurrent writers against a real `headwater serve`, on SQLite and on PostgreSQL.

Eight clients each send 500 OpenLineage events (in small batches, so requests interleave) and,
between batches, catalog writes (PUT datasets and models, some of them the same shared dataset, so
writers race to create one row). Every request must be acknowledged, no client may ever see
"database is locked" (or any 5xx), and afterwards the store, read directly, holds exactly what was
acknowledged: not one event, dataset, edge or model more or fewer.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.reliability.conftest import AUTH, NAMESPACE, count_rows, run_event

CLIENTS, EVENTS_PER_CLIENT, BATCH = 8, 500, 5
INPUTS_PER_CLIENT = 10
CATALOG_EVERY = 10  # batches between catalog writes


def _client(base: str, client: int) -> dict[str, object]:
    """One writer; returns what it got acknowledged and every refusal it met."""
    acked: dict[str, object] = {"events": 0, "outputs": set(), "catalog": 0, "refused": []}
    with httpx.Client(base_url=base, headers=AUTH, timeout=120) as http:
        for start in range(0, EVENTS_PER_CLIENT, BATCH):
            indexes = range(start, start + BATCH)
            batch = [run_event(client, i, output=f"client{client}.out{i}",
                               inputs=["shared.source", f"client{client}.in{i % 50 % INPUTS_PER_CLIENT}"])
                     for i in indexes]
            response = http.post("/api/v1/lineage", json=batch)
            if response.status_code != 201 or response.json()["stored"] != BATCH:
                acked["refused"].append((response.status_code, response.text[:300]))
                continue
            acked["events"] += BATCH
            acked["outputs"].update(f"client{client}.out{i}" for i in indexes)
            if start // BATCH % CATALOG_EVERY == 0:
                k = start // BATCH // CATALOG_EVERY
                writes = [
                    ("PUT", f"/api/v1/datasets/catalog:c{client}.d{k}", {"owner": f"team{client}@x", "origin": "internal"}),
                    ("PUT", "/api/v1/datasets/catalog:shared.reference", {"owner": "shared@x", "origin": "public"}),
                    ("PUT", f"/api/v1/models/catalog:model{client}", {
                        "risk_tier": "minimal", "version": str(k),
                        "trained_on": [{"dataset": f"dataset:catalog:c{client}.d{j}"} for j in range(k + 1)]}),
                ]
                for method, path, body in writes:
                    answer = http.request(method, path, json=body)
                    if answer.status_code not in (200, 201):
                        acked["refused"].append((answer.status_code, answer.text[:300]))
                    else:
                        acked["catalog"] += 1
    return acked


def test_eight_concurrent_writers_lose_nothing(store_url: str, serve, figures: Counter[str]) -> None:
    server = serve(store_url)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda c: _client(server.base, c), range(CLIENTS)))

    refused = [r for result in results for r in result["refused"]]
    assert not refused, f"{len(refused)} writes refused, e.g. {refused[:3]}"
    assert "database is locked" not in server.log()
    events = sum(result["events"] for result in results)
    assert events == CLIENTS * EVENTS_PER_CLIENT

    # What the store holds, read directly from the database, not through the server under test.
    datasets_per_client = EVENTS_PER_CLIENT + INPUTS_PER_CLIENT + (EVENTS_PER_CLIENT // BATCH // CATALOG_EVERY)
    assert count_rows(store_url, "lineage_events") == events
    assert count_rows(store_url, "datasets") == CLIENTS * datasets_per_client + 2  # + shared.source, shared.reference
    assert count_rows(store_url, "datasets", f"WHERE namespace = '{NAMESPACE}' AND name LIKE 'client%.out%'") == events
    assert count_rows(store_url, "derivations") == 2 * events  # each output from its two inputs
    versions = EVENTS_PER_CLIENT // BATCH // CATALOG_EVERY  # each catalog write PUTs a new version k of the model
    assert count_rows(store_url, "models") == CLIENTS * versions  # a model row is one model version
    assert count_rows(store_url, "feeds") == CLIENTS * sum(k + 1 for k in range(versions))  # version k: k + 1 feeds
    with httpx.Client(base_url=server.base, timeout=60) as http:  # and the API agrees
        listed = http.get("/api/v1/datasets", params={"namespace": NAMESPACE, "limit": 1}).json()["total"]
        assert listed == CLIENTS * (EVENTS_PER_CLIENT + INPUTS_PER_CLIENT) + 1
        models = http.get("/api/v1/models", params={"namespace": "catalog"}).json()["items"]
        assert sorted((m["name"], m["version"]) for m in models) == sorted(
            (f"model{client}", str(k)) for client in range(CLIENTS) for k in range(versions))
    backend = store_url.split(":", 1)[0].split("+", 1)[0]
    figures[f"events under concurrency ({backend})"] += events
    figures[f"catalog writes under concurrency ({backend})"] += sum(r["catalog"] for r in results)


def test_writers_racing_to_create_the_same_dataset_all_succeed(store_url: str, serve, figures: Counter[str]) -> None:
    """PUT is idempotent, so eight clients creating one new dataset at the same instant must all get
    a 2xx (one 201, the rest 200), however the database orders them."""
    import threading

    server = serve(store_url)
    rounds, gate = 20, threading.Barrier(CLIENTS)

    def racer(client: int) -> list[tuple[int, str]]:
        answers = []
        with httpx.Client(base_url=server.base, headers=AUTH, timeout=60) as http:
            for k in range(rounds):
                gate.wait()
                response = http.put(f"/api/v1/datasets/race:contested{k}", json={"owner": "o@x", "origin": "internal"})
                answers.append((response.status_code, response.text[:300]))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [a for result in pool.map(racer, range(CLIENTS)) for a in result]
    assert [a for a in answers if a[0] not in (200, 201)] == []
    assert sum(1 for status, _ in answers if status == 201) == rounds
    assert count_rows(store_url, "datasets") == rounds
    figures[f"racing creates ({store_url.split(':', 1)[0].split('+', 1)[0]})"] += len(answers)


def test_catalog_loads_racing_on_one_store_all_succeed(store_url: str, tmp_path, figures: Counter[str]) -> None:
    """Two CI jobs loading the same new catalog at once (`headwater load` in each): both succeed,
    one creates, the other finds everything there, and the store holds one copy."""
    import threading

    from catalog.loader import load_catalog
    from catalog.store import Store

    rounds, loaders = 5, 4
    gate = threading.Barrier(loaders)
    errors: list[BaseException] = []
    for k in range(rounds):
        path = tmp_path / f"catalog{k}.yaml"
        path.write_text(f"catalog: race{k}\ndatasets:\n" + "".join(f"  - name: d{i}\n    owner: o@x\n" for i in range(30))
                        + "models:\n  - name: m\n    risk_tier: minimal\n    trained_on: [{dataset: d0}, {dataset: d29}]\n")

        def load(path=path) -> None:
            store = Store(store_url)
            try:
                gate.wait()
                load_catalog(store, [path])
            except BaseException as exc:  # noqa: BLE001 - collected and reported below
                errors.append(exc)
            finally:
                store.close()

        threads = [threading.Thread(target=load) for _ in range(loaders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    from tests.reliability.conftest import count_rows

    assert count_rows(store_url, "datasets") == 30 * rounds
    assert count_rows(store_url, "models") == rounds and count_rows(store_url, "feeds") == 2 * rounds
    figures[f"racing catalog loads ({store_url.split(':', 1)[0].split('+', 1)[0]})"] += rounds * loaders
