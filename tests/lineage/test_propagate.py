"""`lineage.propagate` on hand-built graphs: modes, time windows, anonymisation, model scoping."""

from __future__ import annotations

from datetime import datetime, timezone

import networkx as nx

from lineage.propagate import Root, propagate

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2026, 6, 1, tzinfo=timezone.utc)
T2 = datetime(2026, 9, 1, tzinfo=timezone.utc)


def graph(edges, feeds=None) -> nx.DiGraph:
    """edges: (a, b) with kinds inferred from the `d:`/`m:` prefixes; feeds: {(d, m): consumed_at}."""
    g = nx.DiGraph(revision=1)
    for a, b in edges:
        for node in (a, b):
            kind = {"d": "dataset", "m": "model", "j": "job"}[node[0]]
            g.add_node(node, kind=kind, namespace="t", name=node, **({"version": "1"} if kind == "model" else {}))
        kinds = (g.nodes[a]["kind"], g.nodes[b]["kind"])
        if kinds == ("dataset", "model"):
            at = (feeds or {}).get((a, b), T1)
            g.add_edge(a, b, kind="feed", uses=[{"role": "training", "fingerprint": None, "consumed_at": at}])
        elif kinds == ("model", "model"):
            g.add_edge(a, b, kind="base_model")
        elif kinds == ("job", "dataset"):
            g.add_edge(a, b, kind="produces")
        else:
            g.add_edge(a, b, kind="derivation", jobs=[], sources=["catalog"])
    return g


CHAIN = [("d:src", "d:mid"), ("d:mid", "d:out"), ("d:src", "m:direct"), ("d:out", "m:far"), ("m:far", "m:tuned")]


def root(**kwargs) -> Root:
    values = {"key": "r", "dataset": "d:src", "into_datasets": "hard", "into_models": "hard"}
    values.update(kwargs)
    return Root(**values)


def modes(reach, key="r"):
    return {node: found[key] for node, found in reach.modes.items() if key in found}


def test_hard_condition_reaches_every_descendant_as_it_is():
    reach = propagate(graph(CHAIN), [root()])
    assert modes(reach) == {"d:src": "direct", "d:mid": "hard", "d:out": "hard", "m:direct": "direct",
                            "m:far": "hard", "m:tuned": "hard"}


def test_review_condition_arrives_as_review():
    reach = propagate(graph(CHAIN), [root(into_datasets="review", into_models="review")])
    assert modes(reach) == {"d:src": "direct", "d:mid": "review", "d:out": "review", "m:direct": "direct",
                            "m:far": "review", "m:tuned": "review"}


def test_non_propagating_condition_still_reaches_the_model_that_consumes_it_directly():
    reach = propagate(graph(CHAIN), [root(into_datasets="none", into_models="none")])
    assert modes(reach) == {"d:src": "direct", "m:direct": "direct"}


def test_hard_into_datasets_but_review_into_models():
    reach = propagate(graph(CHAIN), [root(into_models="review")])
    assert modes(reach)["d:out"] == "hard"
    assert modes(reach)["m:far"] == "review" and modes(reach)["m:tuned"] == "review"


def test_the_weaker_mode_along_a_path_wins_and_the_stronger_path_wins_overall():
    edges = [("d:src", "d:a"), ("d:a", "d:join"), ("d:src", "d:join")]
    reach = propagate(graph(edges), [root(into_datasets="review")])
    assert modes(reach)["d:join"] == "review"
    both = propagate(graph(edges + [("d:join", "m:m")]), [root()])
    assert modes(both)["m:m"] == "hard"


def test_model_trained_before_a_time_scoped_window_is_not_tainted():
    edges = [("d:src", "m:early"), ("d:src", "m:late"), ("d:src", "d:mid"), ("d:mid", "m:later")]
    feeds = {("d:src", "m:early"): T0, ("d:src", "m:late"): T2, ("d:mid", "m:later"): T2}
    reach = propagate(graph(edges, feeds), [root(effective_from=T1)])
    assert "m:early" not in modes(reach)
    assert modes(reach)["m:late"] == "direct" and modes(reach)["m:later"] == "hard"
    untimed = propagate(graph(edges, feeds), [root()])
    assert "m:early" in modes(untimed)


def test_unknown_training_time_counts_as_affected():
    g = graph([("d:src", "m:m")])
    g.edges["d:src", "m:m"]["uses"][0]["consumed_at"] = None
    assert "m:m" in modes(propagate(g, [root(effective_from=T1)]))


def test_verified_anonymisation_stops_privacy_taints_but_not_others():
    g = graph(CHAIN)
    privacy = root(key="privacy", anonymisation="stops")
    integrity = root(key="integrity", anonymisation="none")
    weakened = root(key="legal", anonymisation="review")
    reach = propagate(g, [privacy, integrity, weakened], anonymised={"d:mid"})
    assert modes(reach, "privacy") == {"d:src": "direct", "m:direct": "direct"}
    assert modes(reach, "integrity")["m:tuned"] == "hard"
    assert modes(reach, "legal")["d:mid"] == "review" and modes(reach, "legal")["m:tuned"] == "review"


def test_model_scoped_root_reaches_only_its_model_and_the_models_tuned_from_it():
    edges = [("d:src", "m:a"), ("d:src", "m:b"), ("m:a", "m:a2"), ("d:src", "d:mid")]
    reach = propagate(graph(edges), [root(models=frozenset({"m:a"}), into_datasets="review", into_models="review")])
    assert modes(reach) == {"d:src": "direct", "m:a": "direct", "m:a2": "review"}


def test_jobs_are_not_on_the_data_path():
    edges = [("j:build", "d:src"), ("d:src", "d:out")]
    reach = propagate(graph(edges), [root()])
    assert "j:build" not in reach.modes and modes(reach)["d:out"] == "hard"


def test_several_roots_are_kept_apart():
    edges = [("d:a", "d:join"), ("d:b", "d:join"), ("d:join", "m:m")]
    reach = propagate(graph(edges), [root(key="ra", dataset="d:a"), root(key="rb", dataset="d:b", into_models="review")])
    assert reach.at("m:m") == {"ra": "hard", "rb": "review"}


def test_a_cycle_reaches_a_fixed_point():
    g = graph([("d:src", "d:a"), ("d:a", "d:b"), ("d:b", "d:a"), ("d:b", "m:m")])
    reach = propagate(g, [root(into_datasets="review")])
    assert modes(reach) == {"d:src": "direct", "d:a": "review", "d:b": "review", "m:m": "review"}


def _random_case(seed: int):
    import random

    rng = random.Random(seed)
    g = nx.DiGraph(revision=1)
    datasets = [f"d:{i}" for i in range(rng.randint(5, 40))]
    models = [f"m:{i}" for i in range(rng.randint(1, 8))]
    for node in datasets:
        g.add_node(node, kind="dataset", namespace="t", name=node)
    for node in models:
        g.add_node(node, kind="model", namespace="t", name=node, version="1")
    for i, target in enumerate(datasets):
        for source in rng.sample(datasets[:i], min(i, rng.randint(0, 3))):
            g.add_edge(source, target, kind="derivation", jobs=[], sources=["catalog"])
    for j, model in enumerate(models):
        for source in rng.sample(datasets, rng.randint(1, 3)):
            at = rng.choice([None, T0, T1, T2])
            g.add_edge(source, model, kind="feed", uses=[{"role": "training", "fingerprint": None, "consumed_at": at}])
        if j and rng.random() < 0.4:
            g.add_edge(models[rng.randrange(j)], model, kind="base_model")
    travel = ("hard", "review", "none")
    roots = []
    for k in range(rng.randint(1, 70)):  # past 64 roots the planes need a second word
        d = rng.choice(datasets)
        consumers = [m for m in g.successors(d) if m.startswith("m:")]
        roots.append(Root(
            key=f"r{k}", dataset=d, into_datasets=rng.choice(travel), into_models=rng.choice(travel),
            anonymisation=rng.choice(("stops", "review", "none")),
            effective_from=rng.choice([None, None, T1]),
            models=frozenset(consumers[:1]) if consumers and rng.random() < 0.2 else None,
        ))
    anonymised = set(rng.sample(datasets, rng.randint(0, 3)))
    return g, roots, anonymised


def test_the_bit_plane_path_gives_the_work_lists_answer_on_random_graphs():
    from lineage.propagate import propagate_worklist

    for seed in range(60):
        g, roots, anonymised = _random_case(seed)
        fast = propagate(g, roots, anonymised=anonymised)
        slow = propagate_worklist(g, roots, anonymised=anonymised)
        assert fast.modes == slow.modes, seed


def test_asking_about_a_few_nodes_decodes_the_same_answer_as_decoding_all():
    import random

    for seed in range(20):
        g, roots, anonymised = _random_case(seed)
        nodes = random.Random(seed).sample(sorted(g), min(5, len(g))) + ["not-a-node"]
        packed = propagate(g, roots, anonymised=anonymised)
        few = packed.at_each(nodes)  # decoded from the packed planes, row by row
        everything = propagate(g, roots, anonymised=anonymised).modes
        assert few == {n: everything[n] for n in nodes if n in everything}, seed
        assert all(packed.at(n) == everything.get(n, {}) for n in nodes), seed


def test_per_class_summaries_agree_between_the_packed_planes_and_the_work_list():
    from lineage.propagate import propagate_worklist

    checked = 0
    for seed in range(40):
        g, roots, anonymised = _random_case(seed)
        classes = [[r.key for n, r in enumerate(roots) if n % 3 == j] for j in range(3)]
        fast = propagate(g, roots, anonymised=anonymised).summarise(sorted(g), classes)
        slow = propagate_worklist(g, roots, anonymised=anonymised)
        assert fast == slow.summarise(sorted(g), classes), seed
        for node, entries in fast.items():  # and both say what the decoded pairs say
            modes = slow.modes[node]
            for j, mode, count, first in entries:
                mine = {k: m for k, m in modes.items() if k in classes[j]}
                assert count == len(mine) and first == min(mine, key=classes[j].index)
                assert mode == max(mine.values(), key=lambda m: {"review": 1, "hard": 2, "direct": 3}[m])
                checked += 1
    assert checked > 100


def test_a_subgraph_view_or_an_edited_copy_does_not_reuse_the_parents_index():
    g = graph([("d:a", "d:b"), ("d:b", "d:c")])
    assert set(propagate(g, [root(dataset="d:a")]).reached()) == {"d:a", "d:b", "d:c"}
    view = g.subgraph(["d:a", "d:b"])
    assert set(propagate(view, [root(dataset="d:a")]).reached()) == {"d:a", "d:b"}
    copy = g.copy()
    copy.remove_edge("d:a", "d:b")
    assert set(propagate(copy, [root(dataset="d:a")]).reached()) == {"d:a"}


def test_the_index_is_built_once_per_graph_and_again_when_nodes_are_added():
    from lineage.bitsets import cached_index, index_of

    g = graph(CHAIN)
    assert cached_index(g) is None
    propagate(g, [root()])
    first = cached_index(g)
    assert first is not None and index_of(g) is first
    propagate(g, [root(key="again")])
    assert cached_index(g) is first  # the second propagation reused it
    g.add_edge("d:out", "d:new", kind="derivation", jobs=[], sources=["catalog"])
    g.nodes["d:new"].update(kind="dataset", namespace="t", name="d:new")
    assert modes(propagate(g, [root()]))["d:new"] == "hard"
    assert cached_index(g) is not first


def test_a_cycle_through_a_job_does_not_leave_the_bit_plane_path_and_gives_the_same_answer():
    from lineage.bitsets import index_of
    from lineage.propagate import propagate_worklist

    g = graph([("j:build", "d:out"), ("d:src", "d:out"), ("d:out", "m:m"), ("d:src", "m:m")])
    g.add_edge("d:out", "j:build", kind="consumes")  # a job reading its own output: no data travels on it
    assert not nx.is_directed_acyclic_graph(g) and index_of(g).acyclic
    reach = propagate(g, [root(into_datasets="review")])
    assert modes(reach) == {"d:src": "direct", "d:out": "review", "m:m": "direct"}
    assert reach.modes == propagate_worklist(g, [root(into_datasets="review")]).modes


def test_feed_times_in_other_time_zones_compare_as_instants():
    from datetime import timedelta

    from lineage.propagate import propagate_worklist

    plus_two = timezone(timedelta(hours=2))
    g = graph([("d:src", "d:mid"), ("d:mid", "m:early"), ("d:mid", "m:late")],
              feeds={("d:mid", "m:early"): datetime(2026, 6, 1, 1, 0, tzinfo=plus_two),  # 23:00 UTC the day before
                     ("d:mid", "m:late"): datetime(2026, 6, 1, 3, 0, tzinfo=plus_two)})  # 01:00 UTC
    roots = [root(effective_from=T1)]  # 2026-06-01 00:00 UTC
    reach = propagate(g, roots)
    assert "m:early" not in modes(reach) and modes(reach)["m:late"] == "hard"
    assert reach.modes == propagate_worklist(g, roots).modes


def test_decoded_modes_follow_the_graphs_node_order():
    g, roots, anonymised = _random_case(7)
    decoded = propagate(g, roots, anonymised=anonymised).modes
    assert len(decoded) > 3 and list(decoded) == [node for node in g if node in decoded]


def test_the_bit_plane_path_gives_the_work_lists_answer_with_jobs_and_deep_chains():
    from lineage.propagate import propagate_worklist

    for seed in range(30):
        g, roots, anonymised = _random_case(100 + seed)
        datasets = [n for n in g if n.startswith("d:")]
        for j in range(3):  # jobs produce datasets: they order nothing and carry nothing
            for target in datasets[j::3][:4]:
                g.add_node(f"j:{j}", kind="job", namespace="t", name=f"j:{j}")
                g.add_edge(f"j:{j}", target, kind="produces")
        fast = propagate(g, roots, anonymised=anonymised)
        slow = propagate_worklist(g, roots, anonymised=anonymised)
        assert fast.modes == slow.modes, seed
        assert fast.reached() == set(slow.modes), seed
