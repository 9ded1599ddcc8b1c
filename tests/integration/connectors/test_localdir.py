"""localdir connector: complete files only, read once, archived or quarantined with reasons."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapter.config import AdapterConfig
from connectors.base import ConnectorContext, ReadReport, SourceRecord
from connectors.filedrop import FileDrop
from connectors.filestore import LocalFileStore
from connectors.localdir import LocalDirConfig, LocalDirConnector
from connectors.processed import STATE_FILE
from tests.unit.connectors.file_samples import (
    CSV_OPTIONS,
    GOOD_CSV,
    MISSING_COLUMNS_CSV,
    NON_UTF8_CSV,
    XXE_CTF,
    ctf_files,
    truncated,
)


def make(drop: Path, state: Path, fmt: str, **options: Any) -> LocalDirConnector:
    config = LocalDirConfig.model_validate(
        {"path": drop, "format": fmt, "stable_seconds": 0, **options}
    )
    return LocalDirConnector(config, ConnectorContext(source_name=f"{fmt}-drop", state_dir=state))


def run(connector: LocalDirConnector) -> tuple[list[SourceRecord], ReadReport]:
    report = ReadReport()
    return list(connector.read(report)), report


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def test_mixed_folder_bad_files_quarantined_good_files_read(
    drop: Path, tmp_path: Path, shared_testdata: Path
) -> None:
    """Truncated/XXE/faulty-CIN/non-UTF-8/short-column files quarantined; good ones read."""
    made = ctf_files(tmp_path / "made", 120)
    for path in made[:2]:
        shutil.copy(path, drop / path.name)
    truncated(made[2], drop / "8912003_CTF_891MMM_002.xml")
    (drop / "8914001_CTF_891MMM_009.xml").write_bytes(XXE_CTF)
    for name in ("cin-2022.xml", "CIN_Census_2024.xml"):
        shutil.copy(shared_testdata / "cin" / name, drop / name)
    (drop / "children.csv").write_bytes(GOOD_CSV)
    (drop / "children_win.csv").write_bytes(NON_UTF8_CSV)
    (drop / "children_short.csv").write_bytes(MISSING_COLUMNS_CSV)
    state = tmp_path / "state"

    ctf_records, ctf_report = run(make(drop, state / "ctf", "ctf", pattern="*_CTF_*.xml"))
    cin_records, cin_report = run(make(drop, state / "cin", "cin", pattern="cin*.xml"))
    csv_records, csv_report = run(make(drop, state / "csv", "csv", csv=CSV_OPTIONS.model_dump()))

    expected_pupils = sum(p.read_bytes().count(b"<Pupil>") for p in made[:2])
    assert len(ctf_records) == expected_pupils
    assert sorted(r.key for r in cin_records) == ["DfEX0000001", "child_fails_assessments"]
    assert [r.key for r in csv_records] == ["C1", "C2"]

    quarantined = {
        q.origin: q
        for q in ctf_report.quarantined + cin_report.quarantined + csv_report.quarantined
    }
    assert quarantined["8912003_CTF_891MMM_002.xml"].code == "SRC-NOT-WELL-FORMED"
    assert quarantined["8914001_CTF_891MMM_009.xml"].reason.startswith(
        "8914001_CTF_891MMM_009.xml: line 2: document declares a DTD"
    )
    assert quarantined["CIN_Census_2024.xml"].reason.startswith(
        "CIN_Census_2024.xml: Child[1] line 18: ChildIdentifiers holds text"
    )
    assert quarantined["children_win.csv"].reason.startswith("children_win.csv: line 3: ")
    assert quarantined["children_short.csv"].reason.endswith("column(s): Surname, DOB")
    assert all(q.moved_to is not None for q in quarantined.values())

    assert names(drop / "archive") == {made[0].name, made[1].name, "cin-2022.xml", "children.csv"}
    bad = {
        "8912003_CTF_891MMM_002.xml",
        "8914001_CTF_891MMM_009.xml",
        "CIN_Census_2024.xml",
        "children_win.csv",
        "children_short.csv",
    }
    assert names(drop / "quarantine") == bad | {f"{n}.reason.txt" for n in bad}
    assert names(drop) == {"archive", "quarantine"}
    truncated_reason = (drop / "quarantine" / "8912003_CTF_891MMM_002.xml.reason.txt").read_text()
    assert "file: 8912003_CTF_891MMM_002.xml" in truncated_reason
    assert "outcome: set aside whole: no record of it was used" in truncated_reason
    assert "reason: 8912003_CTF_891MMM_002.xml: line " in truncated_reason
    cin_reason = (drop / "quarantine" / "CIN_Census_2024.xml.reason.txt").read_text()
    assert "outcome: partly read: 1 records used, 1 set aside" in cin_reason
    assert "Child[1] line 18" in cin_reason
    win_reason = (drop / "quarantine" / "children_win.csv.reason.txt").read_text()
    assert "Zo" not in win_reason


def test_processed_content_is_not_read_twice(drop: Path, tmp_path: Path) -> None:
    """A file whose content was read before is archived again on sight, without being read."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    shutil.copy(path, drop / path.name)
    state = tmp_path / "state"
    first, _ = run(make(drop, state, "ctf"))
    assert first
    shutil.copy(path, drop / path.name)  # the export drops the same file again
    again, report = run(make(drop, state, "ctf"))
    assert again == []
    assert report.quarantined == []
    assert names(drop / "archive") == {path.name, path.stem + ".1.xml"}
    assert (state / STATE_FILE).read_text().count("\tarchived\t") == 1


def test_bad_content_dropped_again_is_quarantined_again(drop: Path, tmp_path: Path) -> None:
    """The same bad content dropped twice is quarantined both times with a reason each time."""
    state = tmp_path / "state"
    (drop / "x.xml").write_bytes(XXE_CTF)
    run(make(drop, state, "ctf"))
    (drop / "x.xml").write_bytes(XXE_CTF)
    _, report = run(make(drop, state, "ctf"))
    [item] = report.quarantined
    assert item.code == "SRC-ALREADY-QUARANTINED"
    assert names(drop / "quarantine") >= {"x.xml", "x.1.xml", "x.1.xml.reason.txt"}


def test_part_and_hidden_files_are_left_alone(drop: Path, tmp_path: Path) -> None:
    """Uploads in progress (*.part, .hidden) are neither read nor moved."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    shutil.copy(path, drop / (path.name + ".part"))
    shutil.copy(path, drop / ("." + path.name))
    records, report = run(make(drop, tmp_path / "state", "ctf", pattern="*"))
    assert records == []
    assert report.quarantined == []
    assert names(drop) == {path.name + ".part", "." + path.name}


def test_file_still_growing_waits_for_the_next_run(drop: Path, tmp_path: Path) -> None:
    """A file whose size changes between the two looks is not taken; once stable it is read."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    data = path.read_bytes()
    target = drop / path.name
    target.write_bytes(data[:1000])
    config = LocalDirConfig(path=drop, format="ctf", stable_seconds=1)
    context = ConnectorContext("schools", tmp_path / "state")

    def still_writing(_seconds: float) -> None:
        target.write_bytes(data)

    report = ReadReport()
    store = LocalFileStore(drop)
    assert list(FileDrop(config, store, context, sleep=still_writing).read(report)) == []
    assert target.exists()
    done = list(FileDrop(config, store, context, sleep=lambda _s: None).read(report))
    assert len(done) == data.count(b"<Pupil>")
    assert report.quarantined == []


def test_ssda903_set_waits_for_its_episodes_and_moves_together(
    drop: Path, tmp_path: Path, shared_testdata: Path
) -> None:
    """A header file waits for its episodes file; then both are read and archived together."""
    shutil.copy(shared_testdata / "ssda903" / "header.csv", drop / "903_header.csv")
    shutil.copy(shared_testdata / "ssda903" / "uasc.csv", drop / "903_uasc.csv")
    state = tmp_path / "state"
    records, _ = run(make(drop, state, "ssda903"))
    assert records == []
    assert "903_header.csv" in names(drop)
    shutil.copy(shared_testdata / "ssda903" / "episodes.csv", drop / "903_episodes.csv")
    records, report = run(make(drop, state, "ssda903"))
    assert len(records) == 2675
    assert report.quarantined == []
    assert names(drop / "archive") == {"903_header.csv", "903_episodes.csv"}
    assert "903_uasc.csv" in names(drop)  # case information: never read, never moved


def test_sample_reads_without_side_effects(drop: Path, tmp_path: Path) -> None:
    """sample() returns records but moves nothing and remembers nothing."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    shutil.copy(path, drop / path.name)
    state = tmp_path / "state"
    sample = make(drop, state, "ctf").sample(3)
    assert len(sample) == 3
    assert names(drop) == {path.name}
    assert not (state / STATE_FILE).exists()


def test_abandoned_read_leaves_the_file_for_the_next_run(drop: Path, tmp_path: Path) -> None:
    """A consumer that stops mid-file gets that file again next run: nothing moved, no hash kept."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    shutil.copy(path, drop / path.name)
    state = tmp_path / "state"
    stream = make(drop, state, "ctf").read(ReadReport())
    next(stream)
    stream.close()
    assert path.name in names(drop)
    records, _ = run(make(drop, state, "ctf"))
    assert len(records) == path.read_bytes().count(b"<Pupil>")


def test_oversize_file_is_quarantined_unread(drop: Path, tmp_path: Path) -> None:
    """A file over max_file_bytes is quarantined with its size, never opened."""
    (drop / "big.xml").write_bytes(b"<CTfile>" + b" " * 2000 + b"</CTfile>")
    _, report = run(make(drop, tmp_path / "state", "ctf", max_file_bytes=1000))
    [item] = report.quarantined
    assert item.code == "SRC-TOO-LARGE"
    assert item.reason.startswith("big.xml: file is 2017 bytes, over the limit of 1000")


def test_missing_drop_folder_is_one_clear_error(tmp_path: Path) -> None:
    """A drop folder that does not exist stops this source with a SourceError naming it."""
    from ldi.errors import SourceError

    with pytest.raises(SourceError) as caught:
        run(make(tmp_path / "nope", tmp_path / "state", "ctf"))
    assert str(caught.value).startswith("[SRC-LIST] source 'ctf-drop': drop folder")


@pytest.mark.parametrize(
    "options",
    [
        {"format": "ctf", "archive_dir": "../elsewhere"},
        {"format": "ctf", "quarantine_dir": "/tmp/q"},
        {"format": "ctf", "pattern": "../*.xml"},
        {"format": "ctf", "archive_dir": "same", "quarantine_dir": "same"},
        {"format": "csv"},
        {"format": "ctf", "csv": CSV_OPTIONS.model_dump()},
        {"format": "csv", "csv": CSV_OPTIONS.model_dump(), "encoding": "no-such-codec"},
        {"format": "pdf"},
    ],
)
def test_unsafe_or_inconsistent_options_are_refused(options: dict[str, Any]) -> None:
    """Folder names and patterns must stay in the drop folder; csv needs its column map."""
    with pytest.raises(ValidationError):
        LocalDirConfig.model_validate({"path": "/srv/drop", **options})


def test_kind_localdir_and_sftp_are_registered_for_config(tmp_path: Path) -> None:
    """config.yaml sources of kind localdir and sftp get their typed options via entry points."""
    config = AdapterConfig.model_validate(
        {
            "organisation": {"la_code": "891", "name": "Demo"},
            "sources": [
                {
                    "name": "schools",
                    "kind": "localdir",
                    "source_system": "MIS891",
                    "options": {"path": str(tmp_path), "format": "ctf"},
                },
                {
                    "name": "cin",
                    "kind": "sftp",
                    "source_system": "CIN891",
                    "options": {
                        "format": "cin",
                        "host": "sftp.example",
                        "username": "cp",
                        "private_key": "k",
                        "known_hosts": "kh",
                    },
                },
            ],
        }
    )
    assert isinstance(config.sources[0].options, LocalDirConfig)
    assert type(config.sources[1].options).__name__ == "SftpConfig"


def test_example_file_sources_are_valid(repo_root: Path) -> None:
    """examples/sources-files.yaml validates into the typed localdir and sftp options."""
    import yaml

    raw = yaml.safe_load((repo_root / "examples" / "sources-files.yaml").read_text())
    config = AdapterConfig.model_validate(
        {"organisation": {"la_code": "891", "name": "Demo"}, "sources": raw["sources"]}
    )
    kinds = {s.name: type(s.options).__name__ for s in config.sources}
    assert kinds == {
        "schools": "LocalDirConfig",
        "cin-census": "SftpConfig",
        "looked-after": "SftpConfig",
        "early-years": "LocalDirConfig",
    }


def test_unreadable_file_is_quarantined_and_the_run_goes_on(drop: Path, tmp_path: Path) -> None:
    """A file whose read fails is quarantined as SRC-UNREADABLE; the next file is read."""
    made = ctf_files(tmp_path / "made", 60)
    shutil.copy(made[0], drop / "a_CTF.xml")
    shutil.copy(made[1], drop / "b_CTF.xml")

    class FailingStore(LocalFileStore):
        def local_path(self, name: str) -> Path | None:
            return tmp_path if name == "a_CTF.xml" else super().local_path(name)  # a folder

    config = LocalDirConfig(path=drop, format="ctf", stable_seconds=0)
    report = ReadReport()
    drop_run = FileDrop(config, FailingStore(drop), ConnectorContext("schools", tmp_path / "s"))
    records = list(drop_run.read(report))
    assert {r.provenance.origin for r in records} == {"b_CTF.xml"}
    [item] = report.quarantined
    assert (item.code, item.reason) == ("SRC-UNREADABLE", "a_CTF.xml: cannot read (Is a directory)")
    assert names(drop / "quarantine") == {"a_CTF.xml", "a_CTF.xml.reason.txt"}


def test_sample_of_an_emptied_drop_comes_from_the_archive(drop: Path, tmp_path: Path) -> None:
    """After a read archived every file, sample() reads the newest archived set, moving nothing."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    shutil.copy(path, drop / path.name)
    state = tmp_path / "state"
    read, _ = run(make(drop, state, "ctf"))
    assert read
    assert not [p for p in drop.iterdir() if p.is_file()]  # nothing waiting
    sampled = make(drop, state, "ctf").sample(5)
    assert [r.key for r in sampled] == [r.key for r in read[:5]]
    assert names(drop / "archive") == {path.name}  # nothing moved or copied


def test_sample_of_a_drop_never_read_is_empty(drop: Path, tmp_path: Path) -> None:
    """With no file waiting and no archive yet, sample() is empty rather than an error."""
    assert make(drop, tmp_path / "state", "ctf").sample(5) == []


def test_archive_sample_gives_each_child_once_newest_first(drop: Path, tmp_path: Path) -> None:
    """Two archived exports of the same pupils: the sample holds each pupil once."""
    [path, *_] = ctf_files(tmp_path / "made", 60)
    state = tmp_path / "state"
    shutil.copy(path, drop / path.name)
    first, _ = run(make(drop, state, "ctf"))
    text = path.read_text(encoding="utf-8")
    (drop / "next-night.xml").write_text(text.replace("<DateTime>", "<DateTime>2", 1))
    run(make(drop, state, "ctf"))
    sampled = make(drop, state, "ctf").sample(10_000)
    keys = [r.key for r in sampled]
    assert len(keys) == len(set(keys)) == len({r.key for r in first})
