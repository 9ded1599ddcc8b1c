"""A throw-away OpenSSH sshd on loopback for the SFTP checks (TA-TRN-04/05).

Started the way the SFTP integration tests start theirs: a generated ed25519 host key and user
key, public-key login only, the internal SFTP server, all in a temporary folder, logging in as
the user running the harness. :meth:`Sshd.rotate_host_key` restarts it with a new host key while
``known_hosts`` keeps pinning the old one: what a man-in-the-middle looks like to the client.
When sshd is not installed the checks are skipped with that reason.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
"""


class SshdUnavailable(Exception):
    """sshd or ssh-keygen is missing, or sshd would not start."""


def _keygen(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "cpadapter-accredit", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sshd:
    """A running sshd and what an SFTP client needs to reach it."""

    workdir: Path
    port: int
    user: str
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host_key(self) -> Path:
        return self.workdir / "host_ed25519"

    @property
    def user_key(self) -> Path:
        return self.workdir / "user_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @classmethod
    def start_in(cls, workdir: Path) -> Sshd:
        """Generate keys and config in ``workdir`` and start sshd; SshdUnavailable if it can't."""
        if not SSHD.exists() or not Path(SSH_KEYGEN).exists():
            raise SshdUnavailable(f"{SSHD} or ssh-keygen is not installed (openssh-server)")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        workdir.mkdir(parents=True, exist_ok=True)
        server = cls(workdir, _free_port(), getpass.getuser())
        _keygen(server.host_key)
        _keygen(server.user_key)
        authorized = workdir / "authorized_keys"
        authorized.write_text(server.user_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        kind, key = server.host_key.with_suffix(".pub").read_text().split()[:2]
        server.known_hosts.write_text(f"[127.0.0.1]:{server.port} {kind} {key}\n")
        (workdir / "sshd_config").write_text(
            _CONFIG.format(
                port=server.port,
                host_key=server.host_key,
                pid_file=workdir / "sshd.pid",
                authorized_keys=authorized,
                user=server.user,
            )
        )
        server.start()
        return server

    def start(self) -> None:
        self._process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.workdir / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SshdUnavailable(f"sshd exited with {self._process.returncode}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.settimeout(1.0)
                if s.recv(8).startswith(b"SSH-"):
                    return
            time.sleep(0.05)
        self.stop()
        raise SshdUnavailable("sshd did not answer within 10 s")

    def stop(self) -> None:
        """Stop the sshd this object started (by its own process handle)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None

    def rotate_host_key(self) -> None:
        """Serve a new host key; known_hosts still pins the old one."""
        self.stop()
        _keygen(self.host_key)
        self.start()
