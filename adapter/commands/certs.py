"""``cpadapter certs init``: a development PKI for mutual TLS (LDI-TRN-02), in one command.

Thin: the work is :func:`adapter.pki.init_dev_pki`; this prints each file with its mode, expiry
and SHA-256 fingerprint (the value the hub's accreditation register keys on, LDI-TRN-03), and
refuses to overwrite anything unless ``--force`` is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from adapter.exit_codes import EXIT_UNUSABLE
from adapter.pki import PkiError, PkiExistsError, init_dev_pki


@click.group("certs")
def certs_group() -> None:
    """Development certificates for the adapter and the reference hub."""


@certs_group.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("certs"),
    show_default=True,
    help="Where to write the keys and certificates.",
)
@click.option("--la", "la_code", default="891", show_default=True, help="LA code of the client.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Source system id named in the client certificate (repeatable; default FWK891).",
)
@click.option("--rogue-ca", is_flag=True, help="Also create an unrelated CA for negative tests.")
@click.option("--force", is_flag=True, help="Replace existing files.")
def init_command(
    directory: Path, la_code: str, sources: tuple[str, ...], rogue_ca: bool, force: bool
) -> None:
    """Create a CA, a hub certificate (localhost, 127.0.0.1) and a client certificate."""
    try:
        result = init_dev_pki(
            directory,
            la_code=la_code,
            source_systems=sources or ("FWK891",),
            rogue_ca=rogue_ca,
            force=force,
        )
    except PkiExistsError as exc:
        click.echo(
            f"certs: {len(exc.paths)} file(s) already exist in {directory}; "
            "nothing was written (use --force to replace them)",
            err=True,
        )
        raise SystemExit(EXIT_UNUSABLE) from exc
    except PkiError as exc:
        click.echo(f"certs: {exc.message}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from exc
    for line in result.summary_lines():
        click.echo(line)
