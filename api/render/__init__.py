"""Service results as people read them in a terminal (rich markup, tables and trees).

Only the text output comes through here: `--format json` and the API dump the same pydantic
results directly, so nothing shown here can be something a tool depends on. One module per kind
of result: `lineage` (loads, trees, impact, paths, the summary), `checks` (check runs, their
history, training manifests), `risk` (findings and the gate); `markup` holds what they share.
"""
