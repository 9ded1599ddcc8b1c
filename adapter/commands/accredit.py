"""``cpadapter accredit type|instance|verify``: accreditation runs and their evidence packs.

Exit codes: 0 every check passed (or skipped with a reason); 1 a check failed, the harness
broke (``error``), or a pack does not verify; 2 unusable arguments (e.g. an unreadable key).
"""

from __future__ import annotations

from pathlib import Path

import click

from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from ldi.errors import ConfigError

_OUT = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the evidence pack (created).",
)
_SIGN = click.option(
    "--sign",
    "sign_key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Organisation's private key (PEM, EC or RSA): adds manifest.sig.",
)


def _finish(run: object, exchanges: list[object], out: Path, sign_key: Path | None) -> None:
    from adapter.accreditation.evidence import write_pack
    from adapter.accreditation.results import Exchange, Run, Status

    assert isinstance(run, Run)
    try:
        write_pack(out, run, [e for e in exchanges if isinstance(e, Exchange)], sign_key=sign_key)
    except ConfigError as exc:
        click.echo(f"accredit: {exc.message}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from exc
    for result in run.results:
        click.echo(f"{result.check_id:<10} {result.status.value:<5} {result.message}")
    counts = ", ".join(f"{v} {k}" for k, v in run.counts().items())
    click.echo(f"accredit {run.kind}: {run.verdict.value.upper()} ({counts}); evidence in {out}")
    raise SystemExit(EXIT_OK if run.verdict is Status.PASS else EXIT_FINDINGS)


@click.group("accredit")
def accredit_group() -> None:
    """Type and instance accreditation (LDI 1.0 section 6) with evidence packs."""


@accredit_group.command("type")
@_OUT
@click.option(
    "--profile",
    type=click.Choice(["fast", "full"]),
    default="fast",
    show_default=True,
    help="fast: fewer kills and records, for CI; full: for the accreditation itself.",
)
@_SIGN
def type_command(out: Path, profile: str, sign_key: Path | None) -> None:
    """Run every TA-* check against a reference hub started for the run."""
    from adapter.accreditation.type_run import run_type_checks

    run, exchanges = run_type_checks(profile)
    _finish(run, list(exchanges), out, sign_key)


@accredit_group.command("instance")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("config.yaml"),
    show_default=True,
    help="The installation's configuration file.",
)
@_OUT
@_SIGN
def instance_command(config_path: Path, out: Path, sign_key: Path | None) -> None:
    """Run every IA-* check against this installation's configuration and data."""
    from adapter.accreditation.instance_run import run_instance_checks

    run, exchanges = run_instance_checks(config_path)
    _finish(run, list(exchanges), out, sign_key)


@accredit_group.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Signer's certificate or public key (PEM): also check manifest.sig.",
)
def verify_command(directory: Path, cert: Path | None) -> None:
    """Re-check an evidence pack's manifest (and signature); exit 1 naming the first mismatch."""
    from adapter.accreditation.evidence import verify_pack

    result = verify_pack(directory, cert=cert)
    click.echo(f"accredit verify: {'OK' if result.ok else 'FAILED'}: {result.message}")
    raise SystemExit(EXIT_OK if result.ok else EXIT_FINDINGS)
