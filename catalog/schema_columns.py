"""The store's column-level tables: a dataset's columns and the flows between columns (issue 21).

Kept as Marquez keeps them: one row per column of a dataset, and one row per flow from an input
column into an output column (or into the whole output, for a filter or join key). Neither sits on
the `datasets` or `derivations` rows: the graph of record is built from those a million rows at a
time, and most stores have no column lineage at all.

`source` says who declared a row (a catalog file, OpenLineage, dbt, a check run reading the data),
so each writer replaces its own rows and leaves the others' alone, as derivations do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.schema import Base, Timestamped

WHOLE_DATASET = ""  # `output_column` of a flow that shapes every row of the output (a filter, a join key)


class DatasetColumn(Timestamped, Base):
    """One column of a dataset: its type, description and classifications (personal_data, a special
    category such as health, direct_identifier, pseudonymous, free_text)."""

    __tablename__ = "dataset_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name", name="uq_dataset_columns_dataset_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    classifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    position: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="catalog")


class ColumnFlow(Timestamped, Base):
    """Values (DIRECT) or influence (INDIRECT: a filter, join, group-by) flowing from an input
    column into an output column (`WHOLE_DATASET`: into every row of the output)."""

    __tablename__ = "column_flows"
    __table_args__ = (
        Index("ix_column_flows_output", "output_id"),
        Index("ix_column_flows_input", "input_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    output_column: Mapped[str] = mapped_column(Text)
    input_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    input_column: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # DIRECT | INDIRECT
    subtype: Mapped[str | None] = mapped_column(String(64))  # IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, ...
    masking: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="catalog")
