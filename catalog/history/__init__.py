"""The catalog's memory: every change kept, the past queried like the present, an audit trail.

- `triggers`: the database records each change of a tracked table itself (`history_changes`), so a
  bulk statement, an ORM flush and a cascade are recorded alike, whichever code path wrote them;
- `actor`: who is writing and through what (a catalog file, the API, OpenLineage, an importer);
- `chain`: at commit, a transaction's changes become one hash-chained entry (`history_entries`),
  and `verify` / `export` read the chain back;
- `past`: the lineage rows as they stood at a moment, for every `--as-of` question;
- `changes`: one node's changes with field-level differences, for `headwater history`.
"""
