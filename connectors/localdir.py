"""``localdir``: files dropped in a folder of this machine (or a mounted share).

Everything but the store is :mod:`connectors.filedrop`. ``archive/`` and ``quarantine/`` are
created inside the folder, so a move is a rename on one file system and never half-done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from connectors.base import ConnectorConfig, ConnectorContext
from connectors.filedrop import FileDropConfig, FileDropConnector
from connectors.filestore import FileStore, LocalFileStore
from ldi.errors import SourceError


class LocalDirConfig(FileDropConfig):
    """Options of a ``localdir`` source."""

    path: Path = Field(description="The drop folder")


class LocalDirConnector(FileDropConnector):
    """Reads a local drop folder (registered as connector kind ``localdir``)."""

    config_model: ClassVar[type[ConnectorConfig]] = LocalDirConfig

    def __init__(self, config: LocalDirConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.path = config.path

    @contextmanager
    def _store(self) -> Iterator[FileStore]:
        if not self.path.is_dir():
            raise SourceError(
                f"drop folder {self.path} does not exist or is not a folder",
                source=self.context.source_name,
                code="SRC-LIST",
            )
        yield LocalFileStore(self.path, source=self.context.source_name)
