"""Readers of other tools' records (MLflow, dbt, Hugging Face model cards, Croissant): each turns what the
tool knows into an `ImportPlan` (catalog/imports.py), which one writer applies with the same rules for all of them."""
