"""Lineage: the networkx graph built from the store, and the queries that run on it."""
