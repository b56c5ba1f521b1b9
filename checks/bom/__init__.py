"""AI bills of materials: what a model version rests on, in the formats supply-chain tools read.

`material` gathers it once from the lineage, the check history and the risk evaluation; each
format module (`cyclonedx`, `spdx`) only lays it out. Output is deterministic: the same store on
the same day gives the same bytes, and the document's serial number / namespace is derived from
its content.
"""

FORMATS = ("cyclonedx", "spdx")

SUFFIXES = {"cyclonedx": ".cdx.json", "spdx": ".spdx.json"}


def file_name(model_node: str, fmt: str) -> str:
    """`credit-scorer@3.2.0.cdx.json`: a version's BOM file, named as its report is."""
    from catalog.ids import short_name

    return short_name(model_node).replace("/", "_") + SUFFIXES[fmt]
