"""SSDA903 looked-after children return: identity, home postcode and episode dates, nothing else.

Two forms are read:

* **CSV tables** (``header.csv`` + ``episodes.csv``, as the DfE validator and most CMS export):
  a header file starts a set; its episodes file is found by replacing ``header`` in the name
  with ``episodes`` in the same case (``903_Header_2024.csv`` -> ``903_Episodes_2024.csv``).
  From ``header`` only CHILD, SEX, DOB and UPN; from ``episodes`` only DECOM (start), DEC (end)
  and HOME_POST. ETHNIC, MOTHER, legal status, placement type, provider, URN, reasons, and above
  all the placement postcode (PL_POST), which can reveal where a child in care lives, are never
  read: not parsed into a field, not staged, not hashed. The other tables (uasc, oc3, missing,
  reviews, adoption) are case information and have no reader.
  Episodes are joined per CHILD through :mod:`connectors.staging` (any order, flat memory).
* **XML** (``EXPSSDA903/CHILD/HEADER`` + ``CHILD/EPISODE``): each CHILD element already holds its
  episodes, so it streams directly. Fields use the CSV names (HEADER/CHILDID becomes CHILD) so one
  mapping serves both forms.

Dates are passed on as written (``dd/mm/yyyy``); the mapping parses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from connectors.base import Provenance, SourceRecord
from connectors.csvfile import CsvSetReader, CsvTable
from connectors.filereader import BadFile, FileSet, RecordProblems
from connectors.xmlinput import find, find_all, local_name, stream_elements, text, texts

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "UPN")
EPISODE_COLUMNS = ("DECOM", "DEC", "HOME_POST")
_HEADER_WORD = re.compile("header", re.IGNORECASE)


def episodes_name(header_name: str) -> str | None:
    """The episodes file of a header file, keeping the case style; None if no ``header``."""
    matches = list(_HEADER_WORD.finditer(header_name))
    if not matches:
        return None
    found = matches[-1]
    word = found.group()
    replacement = "EPISODES" if word.isupper() else "Episodes" if word[0].isupper() else "episodes"
    return header_name[: found.start()] + replacement + header_name[found.end() :]


def _companions(name: str) -> dict[str, str]:
    episodes = episodes_name(name)
    return {"episodes": episodes} if episodes else {}


class Ssda903Reader:
    """Reads SSDA903 header+episodes CSV sets and EXPSSDA903 XML files."""

    default_pattern = "*header*.csv"
    checks_while_reading = False

    def __init__(
        self, *, encoding: str | None = None, fallback_encoding: str | None = None
    ) -> None:
        self._csv = CsvSetReader(
            CsvTable("CHILD", {c: c for c in HEADER_COLUMNS}),
            {"episodes": CsvTable("CHILD", {c: c for c in EPISODE_COLUMNS})},
            companion_names=_companions,
            encoding=encoding,
            fallback_encoding=fallback_encoding,
        )

    @staticmethod
    def _is_xml(name: str) -> bool:
        return name.lower().endswith(".xml")

    def is_primary(self, name: str) -> bool:
        """An XML file, or a CSV whose name says ``header``."""
        return self._is_xml(name) or episodes_name(name) is not None

    def companions(self, name: str) -> dict[str, str]:
        """``{"episodes": ...}`` for a CSV header file; nothing for XML."""
        return {} if self._is_xml(name) else _companions(name)

    def check(self, files: FileSet) -> None:
        """CSV: encodings, headers, syntax. XML: well-formed, safe, CHILD elements present."""
        if not self._is_xml(files.primary.name):
            self._csv.check(files)
            return
        count = 0
        for child in stream_elements(files.primary.path, "CHILD", origin=files.primary.name):
            if count == 0:
                root = local_name(child.getroottree().getroot())
                if root != "EXPSSDA903":
                    raise BadFile(
                        files.primary.name,
                        "line 1",
                        f"root element is {root}, not EXPSSDA903",
                        code="SRC-WRONG-FORMAT",
                    )
            count += 1
        if count == 0:
            raise BadFile(
                files.primary.name,
                None,
                "no CHILD element: empty or not an SSDA903 file",
                code="SRC-WRONG-FORMAT",
            )

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        """One record per CHILD, episodes as related rows ``episodes``."""
        if not self._is_xml(files.primary.name):
            yield from self._csv.records(files, problems)
            return
        name = files.primary.name
        seen: dict[str, int] = {}
        for index, child in enumerate(stream_elements(files.primary.path, "CHILD", origin=name), 1):
            where = f"CHILD[{index}] line {child.sourceline}"
            header = find(child, "HEADER")
            if header is None:
                problems.add(name, where, "no HEADER element")
                continue
            fields = texts(header, ("CHILDID", "SEX", "DOB", "UPN"))
            key = fields.pop("CHILDID")
            if key is None:
                problems.add(name, where, "HEADER/CHILDID is missing or empty")
                continue
            if key in seen:
                problems.add(
                    name, where, f"CHILDID repeats CHILD[{seen[key]}]", code="SRC-DUPLICATE-KEY"
                )
                continue
            seen[key] = index
            record_fields = {"CHILD": key, **fields}
            episodes = [
                {column: text(episode, column) for column in EPISODE_COLUMNS}
                for episode in find_all(child, "EPISODE")
            ]
            related = {"episodes": episodes}
            yield SourceRecord(
                key=key,
                fields=record_fields,
                related=related,
                change_marker=None,
                provenance=Provenance(name, where),
            )
