"""The clinic database file, through the command line: created on purpose only, another
program's file and a damaged one refused untouched, read where it cannot be written, checked,
erasure verified in the file's bytes, and reads of health data in the audit trail."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nefkit.clinic import sqlite as sqlite_store
from nefkit.clinic.sqlite import MIGRATIONS
from nefkit.clinic.sqlite_file import APPLICATION_ID

PHQ = [f"phq9_{i}" for i in range(1, 10)]


def phq(*answers):
    return [f"{item}={a}" for item, a in zip(PHQ, answers, strict=True)]


def error_line(result) -> str:
    """The single ``Error:`` line a failed command ends with, with no traceback before it."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and result.output.rstrip().endswith(errors[0]), result.output
    return errors[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(db: Path) -> list[Path]:
    """The files SQLite keeps beside a database while it is in use."""
    return [db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal")]


def raw_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in [db, *siblings(db)] if p.exists())


# -- one clinic database, on purpose ---------------------------------------------------------


def test_a_mistyped_database_is_an_error_not_a_new_clinic(nefkit_cli, clinic_db, monkeypatch):
    typo = clinic_db.with_name("clinc.db")
    line = error_line(nefkit_cli("alerts", "--db", typo))
    assert f"{typo} does not exist" in line and f"nefkit db init {typo}" in line
    monkeypatch.setenv("NEFKIT_DB", str(typo))
    line = error_line(
        nefkit_cli("record", "phq-9", "--client", "C1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0))
    )
    assert f"{typo} does not exist" in line
    assert not typo.exists()


def test_db_init_makes_a_private_database_in_private_folders(nefkit_cli, tmp_path):
    path = tmp_path / "clinic" / "2026" / "clinic.db"
    umask = os.umask(0o022)  # the usual umask, which would make folders 0755 and files 0644
    try:
        made = nefkit_cli("db", "init", path)
    finally:
        os.umask(umask)
    assert made.exit_code == 0, made.output
    assert f"Created the clinic database {path} (readable by you only)." in made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (tmp_path / "clinic", tmp_path / "clinic" / "2026"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    again = nefkit_cli("db", "init", path)
    assert again.exit_code == 0 and "is a nefkit database already" in again.output


def test_the_default_database_is_made_on_first_use_saying_where(nefkit_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("NEFKIT_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first = nefkit_cli("clients")
    default = tmp_path / "data" / "nefkit" / "nefkit.db"
    assert first.exit_code == 0, first.output
    assert f"Created a new clinic database at {default}" in first.stderr
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    assert stat.S_IMODE(default.parent.stat().st_mode) == 0o700
    second = nefkit_cli("clients")
    assert second.exit_code == 0 and second.stderr == ""


def test_another_programs_sqlite_file_is_refused_untouched(nefkit_cli, tmp_path, monkeypatch):
    foreign = tmp_path / "notes.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (said TEXT)")
        db.execute("INSERT INTO notes VALUES ('not for nefkit')")
    db.close()
    before = sha256(foreign)
    answers = phq(1, 1, 1, 1, 1, 1, 1, 1, 1)
    for command in (
        ["clients", "--db", foreign],
        ["record", "phq-9", "--client", "C1", *answers, "--db", foreign],
        ["db", "init", foreign],
        ["db", "check", "--db", foreign],
        ["db", "erase", "--client", "C1", "--reason", "r", "--yes", "--db", foreign],
    ):
        line = error_line(nefkit_cli(*command))
        assert f"{foreign} is not a nefkit database: it is another program's SQLite file" in line
        assert "(tables notes)" in line and "left it untouched" in line
    monkeypatch.setenv("NEFKIT_DB", str(foreign))
    assert "another program's" in error_line(nefkit_cli("alerts"))
    assert sha256(foreign) == before
    assert not any(p.exists() for p in siblings(foreign))


def test_a_database_of_before_the_stamp_is_adopted(nefkit_cli, tmp_path):
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as db:
        for script in MIGRATIONS:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    db.close()
    result = nefkit_cli(
        "record", "phq-9", "--client", "C1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0), "--db", legacy
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(legacy) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


# -- damage is named, never spread -----------------------------------------------------------


def _filled(nefkit_cli, tmp_path, clients: int = 60) -> None:
    """A clinic with enough forms for a database file of many pages."""
    forms = tmp_path / "forms.csv"
    rows = [f"D{n:03d},1,2026-10-01," + ",".join("1" * 9) for n in range(clients)]
    forms.write_text(
        "respondent_id,session,administered_at," + ",".join(PHQ) + "\n" + "\n".join(rows) + "\n"
    )
    result = nefkit_cli("record", "phq-9", "--file", forms)
    assert result.exit_code == 0, result.output


def _damage(db: Path) -> None:
    """Garbage over pages in the middle of the file, as a failing disk leaves it."""
    pages = db.stat().st_size // 4096
    assert pages > 10
    with open(db, "r+b") as handle:
        handle.seek(4096 * (pages // 2 - 2))
        handle.write(os.urandom(4096 * 4))


def test_a_damaged_database_is_named_by_every_command_and_never_written(
    nefkit_cli, clinic_db, tmp_path
):
    _filled(nefkit_cli, tmp_path)
    _damage(clinic_db)
    before = sha256(clinic_db)
    answers = phq(1, 1, 1, 1, 1, 1, 1, 1, 1)
    for command in (
        ["clients"],
        ["alerts"],
        ["alerts", "--ack", "1", "--note", "seen"],
        ["administer", "phq-9", "--client", "D001"],
        ["history", "--client", "D001"],
        ["record", "phq-9", "--client", "D999", *answers],
        ["correct", "1", "phq9_1=2", "--reason", "r"],
        ["void", "1", "--reason", "r"],
        ["report", "--client", "D001", "-o", tmp_path / "d1.html"],
        ["report", "--cohort", "-o", tmp_path / "all.html"],
        ["db", "export", tmp_path / "export"],
        ["db", "erase", "--client", "D001", "--reason", "r", "--yes"],
        ["db", "erase", "--finish"],
        ["db", "audit"],
        ["db", "backup", tmp_path / "copy.db"],
    ):
        line = error_line(nefkit_cli(*command))
        assert f"{clinic_db} is damaged (" in line, (command, line)
        assert "restore your latest backup" in line and "nefkit db check" in line
    assert "add --force" in line  # the backup's error says how to copy it as it is
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "export").exists()
    checked = nefkit_cli("db", "check")
    assert checked.exit_code == 1 and "Problem: " in checked.output
    assert "problems in" in error_line(checked)
    forced = nefkit_cli("db", "backup", "--force", tmp_path / "copy.db")
    assert forced.exit_code == 0, forced.output
    assert "cannot be written, so this backup is not in its audit trail" in forced.stderr
    copied = (tmp_path / "copy.db").read_bytes()
    assert copied[100:] == clinic_db.read_bytes()[100:]  # as it is (but the header's counters)
    assert sha256(clinic_db) == before


def test_db_check_names_alerts_that_drifted_and_answers_without_an_administration(
    nefkit_cli, clinic_db
):
    nefkit_cli("record", "phq-9", "--client", "K1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 2))
    nefkit_cli("record", "phq-9", "--client", "K2", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0))
    clean = nefkit_cli("db", "check")
    assert clean.exit_code == 0 and "no problems found" in clean.output
    with sqlite3.connect(clinic_db) as db:
        db.execute("DELETE FROM alerts WHERE administration = 1")  # the risk K1's form raised
        db.execute(
            "INSERT INTO alerts (administration, key, kind, label, action, raised_at)"
            " VALUES (2, 'flag:risk', 'risk', 'Made up', '', '2026-10-01')"
        )
    db.close()
    drifted = nefkit_cli("db", "check")
    problems = [line for line in drifted.output.splitlines() if line.startswith("Problem: ")]
    assert problems == [
        "Problem: administration 1 lacks the alert its record calls for (risk: Thoughts of"
        " being better off dead or of self-harm (item 9 above 0))",
        "Problem: alert 1 of administration 2 (risk: Made up) is open, but its record no"
        " longer calls for it",
    ]
    assert "2 problems in" in error_line(drifted)
    with sqlite3.connect(clinic_db) as db:
        db.execute(
            "INSERT INTO answers (administration, item, value, at, by)"
            " VALUES (99, 'phq9_1', '1', '2026-10-01', 'x')"
        )
    db.close()
    orphan = nefkit_cli("db", "check").output
    assert "refers to a record of administrations that does not exist" in orphan
    assert "the alerts were not checked, because of the problems above" in orphan


# -- read-only: reading works, writing says why not ------------------------------------------


def _as_another_user() -> list[str]:
    """The prefix that runs a command as a user who cannot write the test's files. Tests run
    as root in CI, for whom permissions are no barrier, so there it is 'nobody'."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot act as a user without write access")
    return ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


@pytest.fixture
def shared_folder():
    """A folder outside pytest's private temporary one, so that another user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="nefkit-read-only-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize(
    "file_mode, folder_mode, why",
    [
        (0o644, 0o755, "is read-only, so nothing was written"),
        (0o666, 0o755, "is in a read-only folder ("),
        (0o644, 0o777, "is read-only, so nothing was written"),
    ],
    ids=["both", "folder", "file"],
)
def test_a_database_that_cannot_be_written_is_read_and_not_written(
    make_clinic_db, nefkit_cli, shared_folder, file_mode, folder_mode, why
):
    clinic = shared_folder / "clinic"
    clinic.mkdir()
    db = make_clinic_db(clinic / "clinic.db")
    for client, answers in (
        ("R1", phq(1, 1, 1, 1, 1, 1, 1, 1, 2)),
        ("R2", phq(0, 0, 0, 0, 0, 0, 0, 0, 0)),
    ):
        assert (
            nefkit_cli("record", "phq-9", "--client", client, *answers, "--db", db).exit_code == 0
        )
    assert db.read_bytes()[18:20] == b"\x02\x02"  # a WAL database, closed: no -wal, no -shm
    out = shared_folder / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    db.chmod(file_mode)
    clinic.chmod(folder_mode)
    before = sha256(db)

    def run(*args):
        return subprocess.run(
            [*_as_another_user(), sys.executable, "-m", "nefkit", *map(str, args), "--db", str(db)],
            capture_output=True,
            text=True,
            cwd=out,
            env={**os.environ, "HOME": str(out), "NEFKIT_USER": "dr-ro"},
        )

    assert run("clients").stdout.startswith("R1: 1 administrations")
    assert "RISK" in run("alerts").stdout
    history = run("history", "--client", "R1")
    assert history.returncode == 0 and "PHQ-9 total: 10" in history.stdout, history.stderr
    assert (
        f"Warning: {db} cannot be written, so this history is not in its audit trail."
        in history.stderr
    )
    assert run("report", "--client", "R1", "-o", out / "r1.html").returncode == 0
    assert run("db", "export", out / "export").returncode == 0
    assert (out / "export" / "phq-9-scores.csv").exists()
    assert run("db", "check").stdout.endswith("no problems found.\n")
    for command in (
        ["record", "phq-9", "--client", "R3", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0)],
        ["alerts", "--ack", "1", "--note", "seen"],
        ["db", "erase", "--client", "R2", "--reason", "request", "--yes"],
    ):
        done = run(*command)
        last = done.stderr.rstrip().splitlines()[-1]
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert last.startswith(f"Error: {db} {why}"), last
    clinic.chmod(0o700)
    assert sha256(db) == before


# -- erasure that is verified ----------------------------------------------------------------

CLIENT = "ZED-ERASE-7"
NOTE = "MARKER-NOTE spoke with the client's sister"
REASON = "MARKER-REASON misheard on the phone"
FREE_TEXT = "MARKER-TEXT my neighbour knows about my treatment"


def _client_to_erase(nefkit_cli) -> None:
    """A client whose id, free-text answer, correction reason and alert note are in the file."""
    assert (
        nefkit_cli("record", "phq-9", "--client", CLIENT, *phq(0, 0, 0, 0, 0, 0, 0, 0, 2)).exit_code
        == 0
    )
    neq = [f"neq{i:02d}=0" for i in range(1, 21)]
    recorded = nefkit_cli("record", "neq-20", "--client", CLIENT, *neq, f"other={FREE_TEXT}")
    assert recorded.exit_code == 0, recorded.output
    assert nefkit_cli("alerts", "--ack", "1", "--note", NOTE).exit_code == 0
    assert nefkit_cli("correct", "1", "phq9_1=1", "--reason", REASON).exit_code == 0
    assert nefkit_cli("history", "--client", CLIENT).exit_code == 0  # an audited read
    assert (
        nefkit_cli("record", "phq-9", "--client", "KEEP", *phq(1, 1, 1, 1, 1, 1, 1, 1, 0)).exit_code
        == 0
    )


MARKERS = [CLIENT.encode(), NOTE.encode(), REASON.encode(), FREE_TEXT.encode()]


def test_an_erasure_a_reader_holds_up_says_so_and_finish_completes_it(
    nefkit_cli, clinic_db, monkeypatch
):
    monkeypatch.setattr(sqlite_store, "BUSY_SECONDS", 0.5)  # the wait for readers, shortened
    _client_to_erase(nefkit_cli)
    assert all(marker in raw_bytes(clinic_db) for marker in MARKERS)
    reader = sqlite3.connect(clinic_db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM answers").fetchone()  # holds a read transaction
        held = nefkit_cli("db", "erase", "--client", CLIENT, "--reason", "request", "--yes")
        line = error_line(held)
        assert line.startswith(
            "Error: Erasure of 2 administrations recorded, but the data is still"
        )
        assert "until other programs using it close; run `nefkit db erase --finish`" in line
        assert "Erased" not in held.output
        assert CLIENT not in nefkit_cli("clients").output  # recorded: gone from every view
        early = error_line(nefkit_cli("db", "erase", "--finish"))
        assert "still in" in early and "until other programs using it close" in early
        reader.execute("COMMIT")  # the other program is done reading, but still connected
        assert any(marker in raw_bytes(clinic_db) for marker in MARKERS)
        finished = nefkit_cli("db", "erase", "--finish")
        assert finished.exit_code == 0, finished.output
        assert finished.output.startswith("Erasure finished: the erased data is no longer in")
        raw = raw_bytes(clinic_db)
        assert [marker for marker in MARKERS if marker in raw] == []
    finally:
        reader.close()
    assert nefkit_cli("clients").output.startswith("KEEP: 1 administrations")


def test_an_erasure_nobody_holds_up_is_verified_at_once(nefkit_cli, clinic_db):
    _client_to_erase(nefkit_cli)
    erased = nefkit_cli("db", "erase", "--client", CLIENT, "--reason", "request", "--yes")
    assert erased.exit_code == 0, erased.output
    assert erased.output.startswith("Erased 2 administrations, 31 answers, 1 alerts; none of it")
    raw = raw_bytes(clinic_db)
    assert [marker for marker in MARKERS if marker in raw] == []


# -- reads are audited -----------------------------------------------------------------------


def test_reads_are_audited_and_an_erased_clients_id_leaves_the_trail(
    nefkit_cli, clinic_db, tmp_path, monkeypatch
):
    monkeypatch.setenv("NEFKIT_USER", "dr-a")
    for client in ("AUD-1", "KEEP-2"):
        nefkit_cli("record", "phq-9", "--client", client, *phq(1, 1, 1, 1, 1, 1, 1, 1, 0))
    assert nefkit_cli("history", "--client", "AUD-1").exit_code == 0
    assert nefkit_cli("report", "--client", "AUD-1", "-o", tmp_path / "aud-1.html").exit_code == 0
    cohort = nefkit_cli("report", "--cohort", "--min-cell", "2", "-o", tmp_path / "cohort.html")
    assert cohort.exit_code == 0, cohort.output
    assert nefkit_cli("db", "export", tmp_path / "export", "--by", "dr-b").exit_code == 0
    assert nefkit_cli("db", "backup", tmp_path / "copy.db").exit_code == 0
    trail = nefkit_cli("db", "audit").output.splitlines()
    reads = [
        line.split(" ", 2)[2] for line in trail if " start " not in line and " finish " not in line
    ]
    assert reads == [
        "dr-a history AUD-1",
        f"dr-a report AUD-1: client report to {tmp_path / 'aud-1.html'}",
        f"dr-a report: cohort report to {tmp_path / 'cohort.html'}",
        f"dr-b export: cohort, to {tmp_path / 'export'}",
        f"dr-a backup: cohort, to {tmp_path / 'copy.db'}",
    ]
    about = nefkit_cli("db", "audit", "--client", "AUD-1", "--json")
    assert [e["action"] for e in json.loads(about.output)] == [
        "start",
        "finish",
        "history",
        "report",
    ]
    assert nefkit_cli("db", "audit", "--since", "2999-01-01").output == "No audit entries match.\n"
    assert len(nefkit_cli("db", "audit", "--since", "2000-01-01").output.splitlines()) == len(trail)

    erased = nefkit_cli("db", "erase", "--client", "AUD-1", "--reason", "request", "--yes")
    assert erased.exit_code == 0, erased.output
    after = json.loads(nefkit_cli("db", "audit", "--json").output)
    assert "AUD-1" not in json.dumps(after)
    assert [e["action"] for e in after if e["client"] is None][:4] == [
        "start",
        "finish",
        "history",
        "report",
    ]
    assert after[-1]["action"] == "erase" and after[-1]["detail"].startswith(
        "erased one client's data"
    )
    assert b"AUD-1" not in raw_bytes(clinic_db)
    assert nefkit_cli("db", "audit", "--client", "AUD-1").output == "No audit entries match.\n"
