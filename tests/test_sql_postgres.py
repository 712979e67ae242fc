"""``nefkit sql --dialect postgres`` on a real PostgreSQL server, against the Python engine.

The test starts a throwaway cluster (initdb in a temporary directory, a free loopback port) and
stops it afterwards. Without PostgreSQL's binaries it skips, unless NEFKIT_REQUIRE_EXTERNAL is
set (as on CI, where .ci/postgres.sh installs them).
"""

from __future__ import annotations

import csv
import glob
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers import plan
from test_engine_support import write_instrument
from test_sql_support import SQL_TYPES, expected, literal, random_rows, same

import nefkit
from nefkit.scoring.sql_emit import plan_sql


def _binaries() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.port = _free_port()
        self.data = root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        self.psql = shutil.which("psql") or str(bindir / "psql")

    def _run(self, *args, **kwargs):
        return subprocess.run(
            [*self.as_user, *map(str, args)], check=True, capture_output=True, text=True, **kwargs
        )

    def start(self) -> None:
        self._run(
            self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"
        )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            self.bindir / "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            self.root / "log",
            "-w",
            "start",
        )

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )

    def query(self, sql: str) -> list[dict]:
        done = subprocess.run(
            [
                self.psql,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "--csv",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-f",
                "-",
            ],
            input=sql,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.fixture(scope="module")
def postgres():
    bindir = _binaries()
    if bindir is None or not (shutil.which("psql") or (bindir / "psql").exists()):
        if os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
            pytest.fail(
                "PostgreSQL is required (NEFKIT_REQUIRE_EXTERNAL is set); run .ci/postgres.sh"
            )
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl, psql) are not installed")
    # Not under pytest's temporary directory: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="nefkit-postgres-"))
    server = Server(bindir, root)
    server.start()
    try:
        for _ in range(50):
            try:
                server.query("SELECT 1")
                break
            except AssertionError:
                time.sleep(0.1)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("instrument", ["phq-9", "gad-7", "neq-20", "engine-test"])
def test_postgres_scores_as_the_python_engine_does(postgres, instrument, tmp_path):
    if instrument == "engine-test":
        reg = nefkit.get_registry([write_instrument(tmp_path)])
        the_plan = nefkit.get_plan(instrument, reg)
    else:
        the_plan = plan(instrument)
    table = f"answers_{instrument.replace('-', '_')}"
    rows = random_rows(the_plan, 300, seed=11)
    columns = ", ".join(f'"{i.id}" {SQL_TYPES.get(i.type, "INTEGER[]")}' for i in the_plan.items)
    values = ",\n".join(
        "(" + ", ".join([str(k), *(literal(row[i.id], i) for i in the_plan.items)]) + ")"
        for k, row in enumerate(rows)
    )
    setup = f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (row_id INTEGER, {columns});\n"
    setup += f"INSERT INTO {table} VALUES {values};\n"
    query = plan_sql(the_plan, "postgres", table).rstrip().rstrip(";")
    got = postgres.query(setup + f"SELECT * FROM ({query}) AS scored ORDER BY row_id;")
    assert len(got) == len(rows)
    statuses = set()
    for row, result in zip(rows, got):
        want = expected(the_plan, row)
        statuses.add(want["row_status"])
        for column, value in want.items():
            assert same(value, result[column]), (column, value, result[column], row)
    assert statuses == {"scored", "invalid"}
