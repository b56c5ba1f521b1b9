"""Checks: Great Expectations runs on the real data, governance conditions, the policy and the gate.

Built on `catalog` and `lineage`; imported by `api` only.
"""
