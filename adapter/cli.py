"""The one command-line entry point, ``cpadapter``: wires the command groups together.

Exit codes (adapter.exit_codes): 0 ok, 1 findings, 2 usage or unusable input.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import click

from adapter.commands.accredit import accredit_group
from adapter.commands.audit_cmd import audit_group
from adapter.commands.certs import certs_group
from adapter.commands.config_cmd import config_group
from adapter.commands.db import db_group
from adapter.commands.deliver import deliver_command
from adapter.commands.demo_cmd import demo_group
from adapter.commands.dq import dq_group
from adapter.commands.keys import keys_group
from adapter.commands.outbox import outbox_group
from adapter.commands.run_cmd import held_command, preview_command, run_command
from adapter.commands.serve import serve_command
from adapter.commands.sources import sources_group
from adapter.commands.validate import validate_command
from adapter.commands.worklist import worklist_command
from hub.cli import hub_group


def _version() -> str:
    try:
        return version("contactpoint-adapter")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="cpadapter")
def main() -> None:
    """ContactPoint Adapter: feeds ContactPoint (LDI 1.0) from a local authority's systems."""


main.add_command(validate_command)
main.add_command(config_group)
main.add_command(sources_group)
main.add_command(certs_group)
main.add_command(hub_group)
main.add_command(db_group)
main.add_command(keys_group)
main.add_command(deliver_command)
main.add_command(outbox_group)
main.add_command(worklist_command)
main.add_command(audit_group)
main.add_command(accredit_group)
main.add_command(demo_group)
main.add_command(dq_group)
main.add_command(run_command)
main.add_command(preview_command)
main.add_command(held_command)
main.add_command(serve_command)
