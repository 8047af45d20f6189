"""Reading the XML clients upload (POMs, ``maven-metadata.xml``) with defusedxml.

A DTD is refused outright, which rules out every entity trick (billion laughs, XXE) before any
expansion. Pure: no Django.
"""

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

from registry_project.errors import RegistryError


def parse_xml(raw: bytes, *, error: type[RegistryError], what: str) -> Element:
    """Parse ``raw`` without namespaces, raising ``error`` for malformed or unsafe XML."""
    try:
        root = defusedxml.ElementTree.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise error(f"unsafe XML in {what}: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise error(f"malformed {what}: {exc}") from exc
    for element in root.iter():
        # Drop "{namespace}" so documents with and without xmlns read the same.
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def child_text(parent: Element | None, tag: str) -> str | None:
    """Return the stripped text of ``parent``'s child ``tag``, None when absent or empty."""
    if parent is None:
        return None
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None
