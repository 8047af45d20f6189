"""Parsing a POM for what the registry keeps of it: coordinates, description, dependencies.

https://maven.apache.org/pom.html. Pure: no Django.
"""

import re
from dataclasses import dataclass

from formats.maven.errors import PomInvalid
from formats.maven.xmlsafe import child_text, parse_xml


@dataclass(frozen=True)
class PomParent:
    """The ``<parent>`` coordinates of a POM.

    Attributes:
        group_id: Parent group id.
        artifact_id: Parent artifact id.
        version: Parent version.
    """

    group_id: str | None
    artifact_id: str | None
    version: str | None


@dataclass(frozen=True)
class PomLicense:
    """One ``<license>`` of a POM.

    Attributes:
        name: License name, or ``None``.
        url: License URL, or ``None``.
    """

    name: str | None
    url: str | None


@dataclass(frozen=True)
class PomDependency:
    """One entry of ``<project><dependencies>`` (not ``dependencyManagement``).

    Attributes:
        group_id: Dependency group id.
        artifact_id: Dependency artifact id.
        version: Version or range, ``None`` when managed elsewhere.
        scope: ``compile`` when not given.
        optional: Whether ``<optional>true</optional>``.
        classifier: Classifier, or ``None``.
        type: ``jar`` when not given.
    """

    group_id: str | None
    artifact_id: str | None
    version: str | None
    scope: str = "compile"
    optional: bool = False
    classifier: str | None = None
    type: str = "jar"


@dataclass(frozen=True)
class PomInfo:
    """What the registry needs from a POM.

    Attributes:
        group_id: Effective group id (inherited from ``<parent>`` when absent).
        artifact_id: Artifact id.
        version: Effective version (inherited from ``<parent>`` when absent).
        packaging: ``jar`` when not given.
        name: ``<name>``, or ``None``.
        description: ``<description>``, or ``None``.
        url: ``<url>``, or ``None``.
        parent: The ``<parent>`` coordinates, or ``None``.
        licenses: ``<licenses>`` in document order.
        dependencies: ``<dependencies>`` in document order.
    """

    group_id: str
    artifact_id: str
    version: str
    packaging: str = "jar"
    name: str | None = None
    description: str | None = None
    url: str | None = None
    parent: PomParent | None = None
    licenses: tuple[PomLicense, ...] = ()
    dependencies: tuple[PomDependency, ...] = ()


_PROPERTY_RE = re.compile(r"\$\{([^}]+)\}")


def parse_pom(*, raw: bytes) -> PomInfo:
    """Parse a POM with or without the POM namespace, refusing DTDs and entities.

    ``${...}`` references in dependency coordinates are resolved from ``project.*``/``pom.*``
    coordinates and the POM's own ``<properties>``; anything else (parent properties, profiles)
    is left as written.

    Args:
        raw: The POM bytes.

    Returns:
        The parsed POM.

    Raises:
        PomInvalid: If the XML is malformed or unsafe, the root is not ``<project>``, or the
            effective groupId, artifactId or version is missing.
    """
    root = parse_xml(raw, error=PomInvalid, what="POM")
    if root.tag != "project":
        raise PomInvalid(f"root element of POM is <{root.tag}>, expected <project>")
    parent_element = root.find("parent")
    parent = None
    if parent_element is not None:
        parent = PomParent(
            group_id=child_text(parent_element, "groupId"),
            artifact_id=child_text(parent_element, "artifactId"),
            version=child_text(parent_element, "version"),
        )
    group_id = child_text(root, "groupId") or (parent.group_id if parent else None)
    artifact_id = child_text(root, "artifactId")
    version = child_text(root, "version") or (parent.version if parent else None)
    if group_id is None or artifact_id is None or version is None:
        missing = [
            tag
            for tag, value in (
                ("groupId", group_id),
                ("artifactId", artifact_id),
                ("version", version),
            )
            if value is None
        ]
        raise PomInvalid(f"POM lacks {', '.join(missing)}")

    properties = {
        child.tag: (child.text or "").strip()
        for child in (root.find("properties") or [])
        if isinstance(child.tag, str)
    }
    for prefix in ("project.", "pom.", ""):
        properties[f"{prefix}groupId"] = group_id
        properties[f"{prefix}artifactId"] = artifact_id
        properties[f"{prefix}version"] = version
    if parent is not None:
        properties["project.parent.groupId"] = parent.group_id or ""
        properties["project.parent.version"] = parent.version or ""

    def interpolate(value: str | None) -> str | None:
        if value is None:
            return None
        return _PROPERTY_RE.sub(lambda m: properties.get(m[1], m[0]), value)

    dependencies = tuple(
        PomDependency(
            group_id=interpolate(child_text(dep, "groupId")),
            artifact_id=interpolate(child_text(dep, "artifactId")),
            version=interpolate(child_text(dep, "version")),
            scope=child_text(dep, "scope") or "compile",
            optional=(child_text(dep, "optional") or "").lower() == "true",
            classifier=interpolate(child_text(dep, "classifier")),
            type=child_text(dep, "type") or "jar",
        )
        for dep in root.findall("dependencies/dependency")
    )
    licenses = tuple(
        PomLicense(name=child_text(lic, "name"), url=child_text(lic, "url"))
        for lic in root.findall("licenses/license")
    )
    return PomInfo(
        group_id=group_id,
        artifact_id=artifact_id,
        version=version,
        packaging=child_text(root, "packaging") or "jar",
        name=child_text(root, "name"),
        description=child_text(root, "description"),
        url=child_text(root, "url"),
        parent=parent,
        licenses=licenses,
        dependencies=dependencies,
    )
