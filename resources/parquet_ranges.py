"""Read a few columns of a remote Parquet object with HTTP range GETs: the footer, then only the
byte ranges of the column chunks asked for.

A day's index is one Parquet object of which prompts and outputs are ~90% of the bytes, while a
window read needs a few small columns of it (features, status, family). Downloading the whole
object and projecting afterwards moved gigabytes a week that nothing used. Here a read is one
GET of the object's last `TAIL_BYTES` (the footer, and often the small columns stored just before
it), then one GET per run of needed column chunks the tail did not cover, runs closer than
`COALESCE_GAP` merged (a request costs a first-byte latency; a small gap costs almost nothing).
The footer is parsed from those bytes and handed to pyarrow, so pyarrow reads nothing but the
planned chunks. Every GET after the first is pinned to the first one's ETag, so a read never
mixes two versions of an object that is rewritten meanwhile.

The planning (which byte ranges) is pure; `SparseFile` is the object as pyarrow sees it: its
size and the ranges fetched so far.
"""

import io
from collections.abc import Callable, Iterable

import pandas as pd
import pyarrow.parquet as pq

# A day index's footer is ~13 KB; the rest of the tail holds the last (smallest, most read) columns.
TAIL_BYTES = 16 * 1024
# Larger than pyarrow's own coalescing hole (8 KiB), so every read it makes falls within our ranges.
COALESCE_GAP = 64 * 1024
MAGIC = b"PAR1"

Range = tuple[int, int]  # [start, end) in bytes


def chunk_ranges(metadata: pq.FileMetaData, columns: Iterable[str]) -> list[Range]:
    """Byte ranges of the chunks of `columns` in every row group, in file order."""
    wanted = set(columns)
    ranges = []
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] in wanted:
                start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
                ranges.append((start, start + chunk.total_compressed_size))
    return sorted(ranges)


def coalesce(ranges: Iterable[Range], gap: int = COALESCE_GAP) -> list[Range]:
    """Sorted ranges with overlaps and gaps of at most `gap` bytes merged."""
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def uncovered(ranges: Iterable[Range], have: Range) -> list[Range]:
    """The parts of `ranges` outside `have`."""
    out = []
    for start, end in ranges:
        if start < have[0]:
            out.append((start, min(end, have[0])))
        if end > have[1]:
            out.append((max(start, have[1]), end))
    return [(s, e) for s, e in out if e > s]


class SparseFile(io.RawIOBase):
    """A remote object of known size of which some byte ranges are held. A read outside them
    fetches what is missing through `fetch(start, end)` (correct, but one more request: the
    planned ranges make it rare)."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]):
        super().__init__()
        self.size, self.fetch, self.pos = size, fetch, 0
        self.chunks: dict[int, bytes] = {}

    def add(self, start: int, data: bytes) -> None:
        self.chunks[start] = data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        end, filled = min(self.pos + len(buffer), self.size), 0
        for piece in self._pieces(self.pos, end):
            buffer[filled : filled + len(piece)] = piece
            filled += len(piece)
        self.pos = end
        return filled

    def read_at(self, lo: int, hi: int) -> bytes:
        """Bytes [lo, hi), fetching what is not held."""
        return b"".join(self._pieces(lo, hi))

    def prefetch(self, start: int, end: int) -> None:
        self.add(start, self.fetch(start, end))

    def _pieces(self, lo: int, hi: int) -> list[memoryview]:
        pieces, at = [], lo
        for start in sorted(self.chunks):
            data = memoryview(self.chunks[start])
            if start + len(data) <= at or start >= hi:
                continue
            if start > at:  # a hole before this chunk
                self.prefetch(at, start)
                pieces.append(memoryview(self.chunks[at]))
                at = start
            stop = min(start + len(data), hi)
            pieces.append(data[at - start : stop - start])
            at = stop
        if at < hi:
            self.prefetch(at, hi)
            pieces.append(memoryview(self.chunks[at]))
        return pieces


def footer_length(tail: bytes) -> int:
    """Bytes of the footer (the Thrift metadata) that precedes the last 8 bytes of a Parquet file."""
    if tail[-4:] != MAGIC:
        raise ValueError("not a Parquet object (no trailing magic)")
    return int.from_bytes(tail[-8:-4], "little")


def open_remote(get_range: Callable[[str, str | None], tuple[bytes, int, str]]) -> tuple[SparseFile, pq.FileMetaData]:
    """A remote Parquet object as a `SparseFile` holding its tail, and its metadata parsed from
    the footer there (one GET; two when the footer is longer than the tail). `get_range(
    http_range, if_match)` returns (body, object size, ETag) of one range GET; later GETs are
    pinned to the first one's ETag."""
    tail, size, etag = get_range(f"bytes=-{TAIL_BYTES}", None)
    file = SparseFile(size, lambda start, end: get_range(f"bytes={start}-{end - 1}", etag)[0])
    file.add(size - len(tail), tail)
    footer = file.read_at(size - 8 - footer_length(tail), size - 8)
    return file, pq.read_metadata(io.BytesIO(MAGIC + footer + tail[-8:]))  # the footer alone reads as a file


def read_columns(get_range: Callable[[str, str | None], tuple[bytes, int, str]], columns: list[str]) -> pd.DataFrame:
    """`columns` of a remote Parquet object (see `open_remote`); those it does not have (an
    object written by an older version) are absent from the frame, as from a whole read."""
    file, metadata = open_remote(get_range)
    present = [c for c in columns if c in metadata.schema.to_arrow_schema().names]
    held = (min(file.chunks), file.size)  # the tail (and a long footer): one run up to the end
    for start, end in uncovered(coalesce(chunk_ranges(metadata, present)), held):
        file.prefetch(start, end)
    table = pq.ParquetFile(file, metadata=metadata).read(columns=present, use_pandas_metadata=True)
    return table.to_pandas()


def least_bytes(metadata: pq.FileMetaData, columns: list[str]) -> int:
    """What a read of `columns` cannot do without: the footer and those columns' chunks."""
    return metadata.serialized_size + 8 + sum(end - start for start, end in chunk_ranges(metadata, columns))
