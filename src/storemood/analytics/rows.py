"""What a report row is, for every output that shows one: ``storemood report``, the API and the dashboard.

The names a row can be grouped by and the one CSV form of a row live here, and nowhere else: this module
imports only the standard library, so the command line can offer these choices without loading the
database layer. (The default engagement threshold is :data:`storemood.defaults.ENGAGEMENT_DWELL_S`.)

>>> print(csv_text([{"product": "A1", "product_name": "Oats", "visits": 2, "shares": {"happy": 0.5}}]), end="")
product,product_name,visits,shares.happy
A1,Oats,2,0.5
"""

from __future__ import annotations

import csv
import io
from typing import Literal, get_args

#: What one report row can stand for.
Dimension = Literal["product", "brand", "zone", "camera", "store", "hour", "day"]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
#: What ``compare`` can put side by side.
Compared = Literal["product", "brand"]
COMPARED: tuple[str, ...] = get_args(Compared)

#: Decimal places of a figure in CSV (JSON carries full precision).
CSV_DECIMALS = 6


def csv_text(rows: list[dict]) -> str:
    """Rows as CSV, one column per figure: nested figures become dotted columns (``shares.happy``,
    ``probabilities.happy``), the same names as the JSON fields and the API's ``sort`` parameter. A nested
    figure that a row lacks (the shares of a group without a readable face) leaves its cells empty."""
    flat = [_flatten(row) for row in rows]
    writer_columns = _columns(list(dict.fromkeys(column for row in flat for column in row)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=writer_columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()


def _columns(seen: list[str]) -> list[str]:
    """The CSV columns: a figure that is nested in some rows and None in others keeps only its dotted
    columns, placed where the figure first appears."""
    nested = {column for column in seen if any(other.startswith(column + ".") for other in seen)}
    columns: list[str] = []
    placed: set[str] = set()
    for column in seen:
        root = next((name for name in nested if column == name or column.startswith(name + ".")), None)
        if root is None:
            columns.append(column)
        elif root not in placed:
            placed.add(root)
            columns += [other for other in seen if other.startswith(root + ".")]
    return columns


def _flatten(row: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for name, value in row.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        elif isinstance(value, tuple | list):  # a 95% interval: valence_ci95.low, valence_ci95.high
            flat.update(_flatten(dict(zip(("low", "high"), value, strict=True)), f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = round(value, CSV_DECIMALS) if isinstance(value, float) else value
    return flat
