"""Generic CSV with a column map: the reader for any system that can only export a spreadsheet.

Config names the key column, the columns to take (``column: field`` pairs; every other column
is never read) and optionally related files joined on a key column, e.g. a carers file beside
the children file. Column names match case-insensitively and ignoring surrounding spaces
(exports differ in both); a mapped column is required unless listed in ``optional``.
Values are stripped; an empty value is None. Encoding: see :mod:`connectors.textinput`.

Related rows are staged in a scratch SQLite table (:mod:`connectors.staging`), so any row order
works with flat memory; the same stage reports duplicate keys in the primary file (the first
row wins, the repeat is set aside) and related rows that match no child.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, field_validator, model_validator

from connectors.base import ConnectorConfig, Provenance, SourceRecord
from connectors.filereader import BadFile, FileSet, LocalFile, RecordProblems
from connectors.filestore import name_problem
from connectors.staging import Stage
from connectors.textinput import CsvInput, detect_encoding


@dataclass(frozen=True, slots=True)
class CsvTable:
    """Which columns of one CSV file are read, and which of them holds the child key."""

    key: str
    columns: Mapping[str, str]  # source column -> field name in the SourceRecord
    optional: frozenset[str] = field(default_factory=frozenset)

    @property
    def wanted(self) -> list[str]:
        """The key column first, then the mapped columns."""
        return [self.key, *(c for c in self.columns if c.casefold() != self.key.casefold())]

    @property
    def required(self) -> list[str]:
        """Columns whose absence makes the file unusable."""
        return [c for c in self.wanted if c == self.key or c not in self.optional]

    def field_positions(self) -> list[tuple[str, int]]:
        """``(field name, index into a row read with :attr:`wanted`)`` for each mapped column."""
        where = {c.casefold(): i for i, c in enumerate(self.wanted)}
        return [(name, where[column.casefold()]) for column, name in self.columns.items()]


def _no_companions(_name: str) -> dict[str, str]:
    return {}


class CsvSetReader:
    """A primary CSV file plus optional related CSV files, one record per primary row."""

    def __init__(
        self,
        primary: CsvTable,
        related: Mapping[str, CsvTable] | None = None,
        *,
        companion_names: Callable[[str], dict[str, str]] = _no_companions,
        primary_filter: Callable[[str], bool] | None = None,
        default_pattern: str = "*.csv",
        delimiter: str = ",",
        encoding: str | None = None,
        fallback_encoding: str | None = None,
    ) -> None:
        self.primary = primary
        self.related = dict(related or {})
        self.default_pattern = default_pattern
        self.checks_while_reading = False  # check() reads every file's CSV syntax first
        self._companion_names = companion_names
        self._primary_filter = primary_filter
        self._delimiter = delimiter
        self._encoding = encoding
        self._fallback = fallback_encoding

    def is_primary(self, name: str) -> bool:
        """A file that is some primary's related file is not itself a primary."""
        return self._primary_filter is None or self._primary_filter(name)

    def companions(self, name: str) -> dict[str, str]:
        """The related files of ``name`` by role."""
        return self._companion_names(name) if self.related else {}

    def _open(self, file: LocalFile) -> CsvInput:
        encoding = detect_encoding(file, declared=self._encoding, fallback=self._fallback)
        return CsvInput(file, encoding, delimiter=self._delimiter)

    def _tables(self, files: FileSet) -> list[tuple[LocalFile, CsvTable]]:
        out = [(files.primary, self.primary)]
        for role, table in sorted(self.related.items()):
            companion = files.companions.get(role)
            if companion is None:
                raise BadFile(
                    files.primary.name, None, f"no {role} file given", code="SRC-COMPANION"
                )
            out.append((companion, table))
        return out

    def check(self, files: FileSet) -> None:
        """Encoding, header and required columns, CSV syntax of every file of the set."""
        for file, table in self._tables(files):
            csv_input = self._open(file)
            csv_input.header_positions(table.wanted, table.required)
            csv_input.check_syntax()

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        """Stage the related files, then stream the primary file joining each row's rows."""
        tables = self._tables(files)
        roles = sorted(self.related)
        with Stage() as stage:
            for role, (file, table) in zip(roles, tables[1:], strict=True):
                stage.load(role, self._keyed_rows(file, table, problems))
            file, table = tables[0]
            for key, line, fields in self._keyed_rows(file, table, problems):
                earlier = stage.claim(key, line)
                if earlier is not None:
                    problems.add(
                        file.name,
                        f"line {line}",
                        f"key column {table.key} repeats line {earlier}; the first row is used",
                        code="SRC-DUPLICATE-KEY",
                    )
                    continue
                related: dict[str, list[dict[str, Any]]] = {role: [] for role in roles}
                if roles:
                    related.update(stage.related(key))
                yield SourceRecord(
                    key=key,
                    fields=fields,
                    related=related,
                    change_marker=None,
                    provenance=Provenance(file.name, f"line {line}"),
                )
            for role, line in stage.orphans():
                other, other_table = tables[1 + roles.index(role)]
                problems.add(
                    other.name,
                    f"line {line}",
                    f"key column {other_table.key} matches no row of {file.name}",
                    code="SRC-ORPHAN",
                )

    def _keyed_rows(
        self, file: LocalFile, table: CsvTable, problems: RecordProblems
    ) -> Iterator[tuple[str, int, dict[str, str | None]]]:
        csv_input = self._open(file)
        positions = csv_input.header_positions(table.wanted, table.required)
        width = csv_input.width()
        pairs = table.field_positions()
        for row in csv_input.rows(positions, width):
            if isinstance(row, int):
                problems.add(
                    file.name, f"line {row}", f"field count differs from the header ({width})"
                )
                continue
            key = row.values[0]
            if key is None:
                problems.add(file.name, f"line {row.line}", f"key column {table.key} is empty")
                continue
            values = row.values
            yield key, row.line, {name: values[i] for name, i in pairs}


# ----- configuration of the generic CSV format -----


def _check_template(template: str) -> str:
    try:
        example = template.format(stem="children", ext=".csv")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError("may use only {stem} and {ext}") from exc
    problem = name_problem(example)
    if problem is not None or example == "children.csv":
        raise ValueError(f"must give a plain file name other than the primary's ({problem})")
    return template


class CsvRelatedOptions(ConnectorConfig):
    """A related file joined to each child on a key column."""

    file: str = Field(
        description="Name from the primary's: {stem} (name without extension) and {ext}, "
        "e.g. '{stem}_carers{ext}'"
    )
    key: str = Field(min_length=1, description="Column holding the child's key")
    columns: dict[str, str] = Field(min_length=1, description="Source column -> field name")
    optional: list[str] = Field(
        default_factory=list, description="Mapped columns that may be absent"
    )

    @field_validator("file")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)

    @model_validator(mode="after")
    def _optional_mapped(self) -> CsvRelatedOptions:
        _check_optional(self.optional, self.columns)
        return self

    def table(self) -> CsvTable:
        """As a :class:`CsvTable`."""
        return CsvTable(self.key, dict(self.columns), frozenset(self.optional))


class CsvOptions(ConnectorConfig):
    """The column map of a generic CSV source (``options.csv`` when ``format: csv``)."""

    key: str = Field(min_length=1, description="Column holding the child's stable key")
    columns: dict[str, str] = Field(min_length=1, description="Source column -> field name")
    optional: list[str] = Field(
        default_factory=list, description="Mapped columns that may be absent"
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    related: dict[str, CsvRelatedOptions] = Field(
        default_factory=dict, description="Related files by role, e.g. carers"
    )

    @model_validator(mode="after")
    def _optional_mapped(self) -> CsvOptions:
        _check_optional(self.optional, self.columns)
        return self

    def reader(
        self, *, pattern: str, encoding: str | None, fallback_encoding: str | None
    ) -> CsvSetReader:
        """A reader for these options; related files are named from the primary's name."""
        templates = {role: rel.file for role, rel in self.related.items()}

        def companion_names(name: str) -> dict[str, str]:
            stem, dot, ext = name.rpartition(".")
            stem, ext = (stem, dot + ext) if dot else (name, "")
            return {role: t.format(stem=stem, ext=ext) for role, t in templates.items()}

        # A file that is another primary's related file never starts a set of its own.
        related_patterns = [t.format(stem="*", ext="*") for t in templates.values()]

        def primary_filter(name: str) -> bool:
            return not any(fnmatchcase(name, p) for p in related_patterns)

        return CsvSetReader(
            CsvTable(self.key, dict(self.columns), frozenset(self.optional)),
            {role: rel.table() for role, rel in self.related.items()},
            companion_names=companion_names,
            primary_filter=primary_filter,
            default_pattern=pattern,
            delimiter=self.delimiter,
            encoding=encoding,
            fallback_encoding=fallback_encoding,
        )


def _check_optional(optional: list[str], columns: Mapping[str, str]) -> None:
    unknown = [c for c in optional if c not in columns]
    if unknown:
        raise ValueError(f"optional names columns that are not mapped: {', '.join(unknown)}")
