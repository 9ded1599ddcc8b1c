"""Text files from other systems: which encoding, and CSV rows with their line numbers.

Encoding is decided once per file, before any row is used, in this order:

1. a byte-order mark (UTF-8, UTF-16 or UTF-32) wins: it is the writer's own statement;
2. else a declared ``encoding`` (config) is used, strictly;
3. else the file must be strict UTF-8 (what every current MIS and CMS exports);
4. else a declared ``fallback_encoding`` (typically ``cp1252`` for older Excel exports), strictly.

A file that fits none is set aside with the line of its first bad byte. Guessing with a
heuristic (chardet and friends) was rejected: a wrong guess silently corrupts names, and a
corrupted name is worse than a quarantined file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass

from connectors.filereader import BadFile, LocalFile

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """The codec of a file and how many bytes of byte-order mark to skip first."""

    codec: str
    skip: int = 0


def valid_codec(name: str) -> str:
    """``name`` if Python knows the codec (for config validation); ValueError otherwise."""
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise ValueError(f"unknown encoding {name!r}") from exc
    return name


def first_bad_line(file: LocalFile, encoding: TextEncoding) -> int | None:
    """1-based line holding the first byte that ``encoding`` cannot decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="strict")
    line = 1
    try:
        with file.path.open("rb") as stream:
            stream.seek(encoding.skip)
            while chunk := stream.read(_CHUNK):
                try:
                    line += decoder.decode(chunk).count("\n")
                except UnicodeDecodeError as exc:
                    # exc.object is what the decoder was decoding: its pending bytes + chunk.
                    good = bytes(exc.object[: exc.start])
                    return line + codecs.decode(good, encoding.codec, "replace").count("\n")
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return line  # a multi-byte character cut off by the end of the file
    except OSError as exc:
        raise BadFile(
            file.name, None, f"cannot read ({exc.strerror})", code="SRC-UNREADABLE"
        ) from exc
    return None


def _bom(file: LocalFile) -> TextEncoding | None:
    try:
        with file.path.open("rb") as stream:
            head = stream.read(4)
    except OSError as exc:
        raise BadFile(
            file.name, None, f"cannot read ({exc.strerror})", code="SRC-UNREADABLE"
        ) from exc
    for mark, codec in _BOMS:
        if head.startswith(mark):
            return TextEncoding(codec, len(mark))
    return None


def detect_encoding(
    file: LocalFile, *, declared: str | None = None, fallback: str | None = None
) -> TextEncoding:
    """The encoding to read ``file`` with (see the module docstring); BadFile if none fits."""
    bom = _bom(file)
    if bom is not None:
        candidates = [bom]
    elif declared is not None:
        candidates = [TextEncoding(declared)]
    else:
        candidates = [TextEncoding("utf-8")] + ([TextEncoding(fallback)] if fallback else [])
    bad = None
    for candidate in candidates:
        bad = first_bad_line(file, candidate)
        if bad is None:
            return candidate
    if bom is not None or declared is not None:
        problem = f"bytes that are not valid {candidates[0].codec}"
    elif fallback:
        problem = f"bytes valid neither as UTF-8 nor as the fallback encoding {fallback}"
    else:
        problem = "bytes that are not valid UTF-8, and no encoding is declared for this source"
    raise BadFile(file.name, f"line {bad}", problem, code="SRC-ENCODING")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One CSV record: the line it starts on and its values, blanks as None."""

    line: int
    values: tuple[str | None, ...]


class CsvInput:
    """A CSV file read with a known encoding; only the wanted columns are ever kept."""

    def __init__(self, file: LocalFile, encoding: TextEncoding, *, delimiter: str = ",") -> None:
        self.file = file
        self.encoding = encoding
        self.delimiter = delimiter

    def _reader(self) -> Generator[tuple[int, list[str]], None, None]:
        reader = None
        try:
            with self.file.path.open("rb") as raw:
                raw.seek(self.encoding.skip)
                text = io.TextIOWrapper(
                    raw, encoding=self.encoding.codec, errors="strict", newline=""
                )
                reader = csv.reader(text, delimiter=self.delimiter, strict=True)
                start = 1
                for row in reader:
                    yield start, row
                    start = reader.line_num + 1
        except csv.Error as exc:
            where = f"line {reader.line_num}" if reader is not None else None
            raise BadFile(self.file.name, where, f"not valid CSV ({exc})", code="SRC-CSV") from exc
        except UnicodeDecodeError as exc:
            where = f"line {reader.line_num + 1}" if reader is not None else None
            raise BadFile(
                self.file.name, where, f"not valid {self.encoding.codec}", code="SRC-ENCODING"
            ) from exc
        except OSError as exc:
            raise BadFile(
                self.file.name, None, f"cannot read ({exc.strerror})", code="SRC-UNREADABLE"
            ) from exc

    def header_positions(self, wanted: Sequence[str], required: Sequence[str]) -> list[int | None]:
        """Position of each wanted column in the header (case-insensitive), None if absent.

        :class:`BadFile` when there is no header, a wanted column appears twice, or a
        required column is missing (the reason lists the missing column names).
        """
        first = self._first()
        if first is None or not any(cell.strip() for cell in first[1]):
            raise BadFile(self.file.name, "line 1", "no header row", code="SRC-MISSING-COLUMNS")
        header = [cell.strip().casefold() for cell in first[1]]
        positions: list[int | None] = []
        for column in wanted:
            hits = [i for i, cell in enumerate(header) if cell == column.strip().casefold()]
            if len(hits) > 1:
                raise BadFile(
                    self.file.name,
                    "line 1",
                    f"column {column} appears {len(hits)} times in the header",
                    code="SRC-MISSING-COLUMNS",
                )
            positions.append(hits[0] if hits else None)
        missing = [c for c, p in zip(wanted, positions, strict=True) if p is None and c in required]
        if missing:
            raise BadFile(
                self.file.name,
                "line 1 (header)",
                f"missing required column(s): {', '.join(missing)}",
                code="SRC-MISSING-COLUMNS",
            )
        return positions

    def check_syntax(self) -> int:
        """Parse every record once (quoting errors are file-level); the number of data rows."""
        return sum(1 for _ in self._reader()) - 1

    def rows(self, positions: Sequence[int | None], width: int) -> Iterator[CsvRow | int]:
        """Data records as :class:`CsvRow` of the wanted columns; a record whose field count is
        not ``width`` (the header's) is yielded as its bare line number, for the caller to note.
        """
        with closing(self._reader()) as records:
            next(records, None)  # the header
            yield from self._data(records, positions, width)

    @staticmethod
    def _data(
        records: Iterator[tuple[int, list[str]]], positions: Sequence[int | None], width: int
    ) -> Iterator[CsvRow | int]:
        for line, row in records:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a record
            if len(row) != width:
                yield line
                continue
            yield CsvRow(
                line, tuple((row[p].strip() or None) if p is not None else None for p in positions)
            )

    def width(self) -> int:
        """Number of columns in the header."""
        first = self._first()
        return len(first[1]) if first else 0

    def _first(self) -> tuple[int, list[str]] | None:
        with closing(self._reader()) as records:
            return next(records, None)
