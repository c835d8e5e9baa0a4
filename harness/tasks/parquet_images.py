"""Images stored in parquet cells (Hugging Face's Image feature: a struct {bytes, path}), read on demand.

A split's parquet files can hold thousands of encoded images (VisOnlyQA_Train: 10k per category), so the texts are
read once and an image only when an item needs it: one row group at a time, the last one kept, which makes reading
the items in file order one decode of each row group. pyarrow is imported when a file is read, so importing the
task registry stays cheap.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from pathlib import Path
from typing import Any

from PIL import Image

from harness.tasks.base import ImageError


class ParquetImages:
    """The `column` cells of parquet files by (file, row index), the last row group read kept in memory."""

    def __init__(self, column: str):
        self.column = column
        self._starts: dict[Path, list[int]] = {}
        self._key: tuple[Path, int] | None = None
        self._cells: list[Any] = []

    def cell(self, path: Path, row: int) -> Any:
        """The raw cell (a {bytes, path} dict, bytes or None) of row `row` (0-based over the whole file)."""
        import pyarrow.parquet as pq

        starts = self._starts.get(path)
        if starts is None:
            meta = pq.ParquetFile(path).metadata
            starts, n = [], 0
            for g in range(meta.num_row_groups):
                starts.append(n)
                n += meta.row_group(g).num_rows
            self._starts[path] = starts
        group = bisect_right(starts, row) - 1
        if self._key != (path, group):
            table = pq.ParquetFile(path).read_row_group(group, columns=[self.column])
            self._cells, self._key = table.column(0).to_pylist(), (path, group)
        return self._cells[row - starts[group]]

    def raw(self, path: Path, row: int, where: str) -> bytes:
        """The encoded image bytes; `ImageError` naming `where` when the cell holds none or cannot be read."""
        try:
            cell = self.cell(path, row)
        except (OSError, ValueError, IndexError) as e:  # pyarrow's errors are OSError / ValueError subclasses
            raise ImageError(f"{where}: cannot read the {self.column!r} cell: {type(e).__name__}: {e}") from e
        data = cell.get("bytes") if isinstance(cell, dict) else cell
        if not isinstance(data, bytes) or not data:
            named = f" (it names {cell['path']!r})" if isinstance(cell, dict) and cell.get("path") else ""
            raise ImageError(f"{where}: no image bytes in {self.column!r}{named}")
        return data

    def open_rgb(self, path: Path, row: int, where: str) -> Image.Image:
        """The decoded image as RGB; `ImageError` naming `where` for missing or undecodable bytes."""
        data = self.raw(path, row, where)
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                return im.convert("RGB")
        except Exception as e:  # PIL raises many types for corrupt data
            raise ImageError(f"{where}: cannot decode the {self.column!r} bytes: {type(e).__name__}: {e}") from e

    def exists(self, path: Path, row: int) -> bool:
        try:
            self.raw(path, row, "")
        except ImageError:
            return False
        return True
