"""AI bills of materials: what a model version rests on, in the formats supply-chain tools read.

`material` gathers it once from the lineage, the check history and the risk evaluation; each
format module (`cyclonedx`, `spdx`) only lays it out. Output is deterministic: the same store on
the same day gives the same bytes, and the document's serial number / namespace is derived from
its content.
"""

FORMATS = ("cyclonedx", "spdx")
