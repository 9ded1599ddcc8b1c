"""texts() gives the stripped text of the first element at each dotted path, like a plain walk."""

from __future__ import annotations

from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.xmlinput import index, texts, texts_from

TAGS = ("A", "B", "C")
NAMES = tuple(".".join(path) for depth in (1, 2, 3) for path in product(TAGS, repeat=depth))


def _reference(element: etree._Element, dotted: str) -> str | None:
    """First child of each name on the way (namespace ignored, comments skipped), stripped."""
    node: etree._Element | None = element
    for part in dotted.split("."):
        assert node is not None
        node = next(
            (
                child
                for child in node
                if isinstance(child.tag, str) and etree.QName(child).localname == part
            ),
            None,
        )
        if node is None:
            return None
    text = node.text.strip() if node.text else ""
    return text or None


@st.composite
def trees(draw: st.DrawFn) -> etree._Element:
    """Small trees of A/B/C elements (some namespaced), texts with spaces, and comments."""
    root = etree.Element("R")
    parents = [root]
    for _ in range(draw(st.integers(0, 14))):
        parent = draw(st.sampled_from(parents))
        if draw(st.integers(0, 9)) == 0:
            parent.append(etree.Comment("note"))
            continue
        tag = draw(st.sampled_from(TAGS))
        namespaced = draw(st.booleans())
        child = etree.SubElement(parent, f"{{urn:x}}{tag}" if namespaced else tag)
        child.text = draw(st.sampled_from([None, "", "  ", " v ", "w", "x y"]))
        parents.append(child)
    return root


@settings(max_examples=300, deadline=None)
@given(root=trees(), names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
def test_texts_equal_a_plain_walk(root: etree._Element, names: list[str]) -> None:
    """For one-, two- and three-step names, every key is present with the walk's text or None."""
    expected = {f"p.{name}": _reference(root, name) for name in names}
    assert texts(root, tuple(names), prefix="p.") == expected
    assert texts_from(index(root), tuple(names), prefix="p.") == expected
