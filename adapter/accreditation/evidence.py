"""The evidence pack: writing it (report, JUnit, JSON, redacted exchanges, manifest) and verifying.

The manifest lists the SHA-256 of every other file, so ``verify`` detects any edit, addition or
removal; a detached signature of the manifest (``manifest.sig``) binds the pack to the
organisation that ran it.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from adapter.accreditation import report_html, signing
from adapter.accreditation.junit import junit_xml
from adapter.accreditation.redact import redact_xml
from adapter.accreditation.results import Exchange, Run

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
LIBRARIES = ("lxml", "zeep", "requests", "cryptography", "SQLAlchemy", "pydantic", "paramiko")


def product_version() -> str:
    try:
        return version("contactpoint-adapter")
    except PackageNotFoundError:  # a source tree without installation
        return "0+unknown"


def _library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_pack(
    directory: Path,
    run: Run,
    exchanges: list[Exchange],
    *,
    sign_key: Path | None = None,
) -> Path:
    """Write the whole pack into ``directory`` (created; existing pack files replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in (directory / MANIFEST, directory / SIGNATURE):
        stale.unlink(missing_ok=True)
    (directory / "results.json").write_text(json.dumps(run.as_dict(), indent=2) + "\n")
    (directory / "junit.xml").write_bytes(junit_xml(run))
    (directory / "report.html").write_text(
        report_html.render(run, product_version=product_version()), encoding="utf-8"
    )
    folder = directory / "exchanges"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.xml"):
        old.unlink()
    for index, exchange in enumerate(exchanges, start=1):
        stem = f"{index:04d}-{exchange.operation}"
        (folder / f"{stem}-request.xml").write_bytes(redact_xml(exchange.request))
        (folder / f"{stem}-response.xml").write_bytes(redact_xml(exchange.response))
    files = {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, SIGNATURE)
    }
    manifest = {
        "kind": run.kind,
        "verdict": run.verdict.value,
        "product_version": product_version(),
        "python": platform.python_version(),
        "libraries": _library_versions(),
        "config_digest": run.config_digest,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "files": files,
    }
    manifest["manifest_digest"] = _self_digest(manifest)
    data = _canonical(manifest)
    (directory / MANIFEST).write_bytes(data)
    if sign_key is not None:
        (directory / SIGNATURE).write_bytes(signing.sign(data, sign_key))
    return directory


def _canonical(manifest: Mapping[str, object]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _self_digest(manifest: Mapping[str, object]) -> str:
    """SHA-256 of the manifest without this field: an edited manifest no longer matches it.

    (Anyone can recompute it; tamper-proofing against a deliberate forger is the signature.)
    """
    rest = {k: v for k, v in manifest.items() if k != "manifest_digest"}
    return hashlib.sha256(_canonical(rest)).hexdigest()


@dataclass
class Verification:
    ok: bool
    message: str


def verify_pack(directory: Path, *, cert: Path | None = None) -> Verification:
    """Re-check every hash (and the signature when ``cert`` is given); the first problem found."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return Verification(False, f"{MANIFEST} is missing")
    data = manifest_path.read_bytes()
    try:
        manifest = json.loads(data)
        listed: dict[str, str] = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return Verification(False, f"{MANIFEST} is not a valid manifest")
    if _canonical(manifest) != data or manifest.get("manifest_digest") != _self_digest(manifest):
        return Verification(False, f"{MANIFEST}: edited after it was written")
    for name, expected in sorted(listed.items()):
        path = directory / name
        if not path.is_file():
            return Verification(False, f"{name}: listed in the manifest but missing")
        if sha256_file(path) != expected:
            return Verification(False, f"{name}: SHA-256 does not match the manifest")
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and name not in listed and name not in (MANIFEST, SIGNATURE):
            return Verification(False, f"{name}: not listed in the manifest")
    signature = directory / SIGNATURE
    if cert is not None:
        if not signature.is_file():
            return Verification(False, f"{SIGNATURE} is missing; the pack is not signed")
        if not signing.verify(data, signature.read_bytes(), cert):
            return Verification(False, f"{SIGNATURE}: the signature does not match {MANIFEST}")
        return Verification(True, f"{len(listed)} files match; signature verified")
    note = "; signed (pass --cert to check the signature)" if signature.is_file() else ""
    return Verification(True, f"{len(listed)} files match the manifest{note}")
