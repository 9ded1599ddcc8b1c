"""File names from listings and config can never leave the drop folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.filestore import LocalFileStore, UnsafeName, name_problem, safe_name


@given(st.text(min_size=0, max_size=40))
def test_any_accepted_name_stays_directly_inside_the_folder(name: str) -> None:
    """Property: every name accepted by name_problem resolves to a child of the folder itself."""
    root = Path("/srv/drop")
    if name_problem(name) is None:
        joined = Path(os.path.normpath(root / name))
        assert joined.parent == root
        assert joined.name == name


@given(st.lists(st.sampled_from(["..", ".", "a", "/", "\\", "b.xml"]), min_size=1, max_size=6))
def test_names_built_from_path_pieces_are_refused_unless_plain(pieces: list[str]) -> None:
    """Property: any combination containing a separator, or only dots, is refused."""
    name = "".join(pieces)
    refused = name_problem(name) is not None
    assert refused == ("/" in name or "\\" in name or name in {".", ".."})


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../x.xml",
        "/etc/passwd",
        "a/b.xml",
        "..\\x.xml",
        "C:x.xml",
        "x\n.xml",
        "x\x00.xml",
        "a" * 256,
    ],
)
def test_traversal_and_odd_names_are_refused(name: str) -> None:
    """Parent references, absolute paths, separators, drive letters, control characters refused."""
    with pytest.raises(UnsafeName) as caught:
        safe_name(name, source="drop")
    assert caught.value.code == "SRC-PATH"
    assert "drop" in str(caught.value)


def test_local_store_refuses_unsafe_names_and_skips_links(tmp_path: Path) -> None:
    """The local store lists regular files only and will not open or move outside its folder."""
    (tmp_path / "a.xml").write_text("<a/>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.xml").symlink_to("/etc/hostname")
    store = LocalFileStore(tmp_path)
    assert [f.name for f in store.list()] == ["a.xml"]
    with pytest.raises(UnsafeName):
        store.open("../a.xml")
    with pytest.raises(UnsafeName):
        store.move("a.xml", "..", "a.xml")
    assert (tmp_path / "a.xml").exists()
