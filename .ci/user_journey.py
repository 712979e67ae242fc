"""What a user gets: every documented path of nefkit, run against an installed copy.

    python .ci/user_journey.py VENV

VENV is a fresh virtual environment holding nefkit's wheel and its runtime dependencies only
(no test extras), so a module nefkit uses but does not declare fails here as it fails for a
user. Each step runs one command as a user types it, in a scratch folder, at realistic sizes
(a 10 MB file, a million PHQ-9 rows); checks its exit status, that what it says it wrote is
there and holds what it should, and that nothing it printed is a traceback. Every command in
the README's code runs too, and a README command the script does not know fails it. The first
failure stops the script with exit 1, naming the step.

The script needs only the standard library and what nefkit itself installs (openpyxl and DuckDB
read the workbooks and Parquet files it checks).
"""

from __future__ import annotations

import csv
import http.cookiejar
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
NEFKIT = str(VENV / "bin" / "nefkit") if VENV else "nefkit"
PYTHON = str(VENV / "bin" / "python") if VENV else sys.executable
WORK = Path(tempfile.mkdtemp(prefix="nefkit-journey-"))
PHQ = [f"phq9_{i}" for i in range(1, 10)]


class Failed(Exception):
    pass


def run(*args, expect: int = 0, stdin: str | None = None, env=None) -> subprocess.CompletedProcess:
    """One nefkit command; fails unless it exits ``expect`` without a traceback, and a failing
    one ends with a single ``Error:`` line (or click's usage message)."""
    command = [NEFKIT, *map(str, args)]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=WORK,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    shown = " ".join(shlex.quote(str(a)) for a in ["nefkit", *args])
    print(f"  {time.monotonic() - started:6.2f} s  exit {done.returncode}  {shown}", flush=True)
    output = done.stdout + done.stderr
    if "Traceback" in output:
        raise Failed(f"{shown} printed a traceback:\n{done.stderr[-3000:]}")
    if done.returncode != expect:
        raise Failed(f"{shown} exited {done.returncode}, expected {expect}:\n{done.stderr[-3000:]}")
    if expect:
        last = done.stderr.rstrip().splitlines()[-1] if done.stderr.strip() else ""
        if not last.startswith("Error: ") and not (expect == 2 and "Error:" in done.stderr):
            raise Failed(f"{shown} failed without an 'Error:' line:\n{done.stderr[-3000:]}")
    return done


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


# --------------------------------------------------------------------------------------------
# What the outputs hold


def csv_rows(path: Path) -> list[dict[str, str]]:
    check(path.is_file() and path.stat().st_size > 0, f"{path} was not written")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_count(path: Path) -> int:
    check(path.is_file(), f"{path} was not written")
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def parquet_count(path: Path) -> int:
    check(path.is_file(), f"{path} was not written")
    return int(
        _python(
            f"import duckdb; print(duckdb.sql(\"SELECT count(*) FROM '{path}'\").fetchall()[0][0])"
        )
    )


def jsonl_count(path: Path) -> int:
    check(path.is_file(), f"{path} was not written")
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if json.loads(line))


def json_rows(path: Path) -> int:
    check(path.is_file(), f"{path} was not written")
    return len(json.loads(path.read_text(encoding="utf-8"))["rows"])


def xlsx_sheets(path: Path) -> list[str]:
    check(path.is_file(), f"{path} was not written")
    code = f"import openpyxl; print('|'.join(openpyxl.load_workbook('{path}', read_only=True).sheetnames))"
    return _python(code).split("|")


def html_page(path: Path, *needles: str) -> None:
    check(path.is_file(), f"{path} was not written")
    text = path.read_text(encoding="utf-8")
    check(text.rstrip().endswith("</html>"), f"{path} is not a whole HTML page")
    for needle in needles:
        check(needle in text, f"{path} does not mention {needle!r}")


def _python(code: str) -> str:
    """Python in the user's environment, to make or read a file the way a user's tools would."""
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    check(done.returncode == 0, f"python -c {code!r} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


# --------------------------------------------------------------------------------------------
# Data a user brings


def phq_rows(respondents: int, sessions: int, seed: int = 1):
    """A service's PHQ-9 series: a respondent's answers drift from session to session."""
    rng = random.Random(seed)
    for r in range(respondents):
        base = [rng.randint(0, 3) for _ in PHQ]
        for s in range(1, sessions + 1):
            answers = [min(3, max(0, a + rng.choice((-1, 0, 0, 1)))) for a in base]
            difficulty = str(rng.randint(0, 3)) if any(answers) else ""
            day = f"2026-{1 + (s - 1) // 28:02d}-{1 + (s - 1) % 28:02d}"
            yield [f"R{r:06d}", str(s), day, rng.choice("ABC"), *map(str, answers), difficulty]


def write_phq_csv(path: Path, respondents: int, sessions: int) -> int:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", "administered_at", "site", *PHQ, "phq9_10"])
        rows = 0
        for row in phq_rows(respondents, sessions):
            writer.writerow(row)
            rows += 1
    return rows


def neq_row(rng: random.Random, n: int) -> list[str]:
    cells = [f"P{n:06d}", rng.choice(("individual", "group"))]
    for _ in range(20):
        if rng.random() < 0.3:
            cells += ["Yes", str(rng.randint(0, 4)), rng.choice(("0", "1"))]
        else:
            cells += ["No", "", ""]
    cells.append(rng.choice(("", "", "Felt rushed at the end")))
    return cells


def neq_header() -> list[str]:
    items = [f"neq{i:02d}{part}" for i in range(1, 21) for part in ("", "_impact", "_cause")]
    return ["respondent_id", "format", *items, "neq21"]


def write_neq_csv(path: Path, megabytes: int) -> int:
    rng = random.Random(2)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(neq_header())
        while handle.tell() < megabytes * 1_000_000:
            writer.writerow(neq_row(rng, rows))
            rows += 1
    return rows


# --------------------------------------------------------------------------------------------
# The journeys


def install() -> None:
    print("The installed environment", flush=True)
    done = subprocess.run([PYTHON, "-m", "pip", "check"], capture_output=True, text=True)
    check(done.returncode == 0, f"pip check found broken requirements:\n{done.stdout}")
    run("--version")
    check("Start here" in run("--help").stdout, "nefkit --help lacks its quick start")
    check(len(json.loads(run("instruments", "--json").stdout)) == 5, "5 bundled instruments")
    run("plugins", "--all")
    run("schema")


def scoring_at_scale() -> None:
    print("Large files, default engine", flush=True)
    neq = WORK / "neq-10mb.csv"
    rows = write_neq_csv(neq, 10)
    done = run("score", "neq-20", neq, "-o", "neq-10mb-scores.csv")
    check("Engine: duckdb" in done.stderr, "a 10 MB file goes to the DuckDB engine")
    check(csv_count(WORK / "neq-10mb-scores.csv") == rows, "every row of the 10 MB file")

    phq = WORK / "phq-1m.csv"
    rows = write_phq_csv(phq, 125_000, 8)
    check(rows == 1_000_000, "a million PHQ-9 rows")
    run("score", "phq-9", phq, "-o", "phq-1m-scores.csv")
    check(csv_count(WORK / "phq-1m-scores.csv") == rows, "every row of the 1M-row file")
    check(csv_count(WORK / "phq-1m-scores-changes.csv") > 0, "change scores at 1M rows")
    run("score", "phq-9", phq, "-o", "phq-1m-scores.parquet")
    check(parquet_count(WORK / "phq-1m-scores.parquet") == rows, "1M rows to Parquet")


def inputs_and_outputs() -> None:
    """Every input format into every output format, on both engines."""
    print("Input and output formats", flush=True)
    base = WORK / "formats"
    base.mkdir()
    rows = list(phq_rows(40, 3, seed=3))
    header = ["respondent_id", "session", "administered_at", "site", *PHQ, "phq9_10"]
    with open(base / "in.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    with open(base / "in.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(dict(zip(header, row))) + "\n")
    _python(
        "import csv, openpyxl; book = openpyxl.Workbook(); sheet = book.active;"
        f" [sheet.append(r) for r in csv.reader(open('{base / 'in.csv'}'))];"
        f" book.save('{base / 'in.xlsx'}')"
    )
    _python(
        "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_csv('"
        f"{base / 'in.csv'}', all_varchar = true)) TO '{base / 'in.parquet'}'\")"
    )
    counts = {
        "csv": csv_count,
        "parquet": parquet_count,
        "jsonl": jsonl_count,
        "json": json_rows,
    }
    for engine in ("python", "duckdb"):
        for source in ("csv", "xlsx", "jsonl", "parquet"):
            for target in ("csv", "json", "xlsx", "html", "txt", "parquet", "jsonl"):
                out = base / f"{engine}-{source}.{target}"
                # documented: the DuckDB engine does not read workbooks; every other pair works
                # on both engines, output always through the renderer for the file
                args = ["score", "phq-9", base / f"in.{source}", "-o", out, "--engine", engine]
                if engine == "duckdb" and source == "xlsx":
                    done = run(*args, expect=1)
                    check("--engine python" in done.stderr, f"{out}: the error names the engine")
                    check(not out.exists(), f"{out} written although the run failed")
                    continue
                run(*args)
                if target in counts:
                    check(counts[target](out) == len(rows), f"{out} holds every row")
                elif target == "xlsx":
                    check("Scores" in xlsx_sheets(out), f"{out} has a Scores sheet")
                elif target == "html":
                    html_page(out, "PHQ-9")
                else:
                    check(out.stat().st_size > 0, f"{out} is empty")
    first = rows[0][0]
    run("score", "phq-9", base / "in.csv", "-o", "formats/client.html", "--respondent", first)
    html_page(base / "client.html", first)
    run("score", "phq-9", base / "in.csv", "-o", "formats/by-site.html", "--by", "site")
    html_page(base / "by-site.html", "site")
    run("score", "phq-9", base / "in.csv", "-o", "formats/by-site.xlsx", "--by", "site")


def research() -> None:
    print("Research", flush=True)
    demo = REPO / "plugins" / "nefkit_demo" / "data"
    for target in ("analysis.html", "analysis.xlsx"):
        run("analyze", "neq-20", demo / "neq-20.csv", "-o", target)
    html_page(WORK / "analysis.html", "alpha")
    for target in ("codebook.html", "codebook.xlsx"):
        run("codebook", "phq-9", "-o", target)
    for target in ("entry.csv", "entry.xlsx"):
        run("template", "neq-20", "-o", target)
    run("info-sheet", "neq-20", "-o", "sheet.html")
    run("info-sheet", "neq-20", "-o", "sheet.txt")
    for dialect in ("duckdb", "postgres", "spark", "trino"):
        check("SELECT" in run("sql", "phq-9", "--dialect", dialect).stdout, f"SQL for {dialect}")
    run("export-definition", "gad-7", "-o", "gad-7.xlsx")
    run("import-definition", "gad-7.xlsx", "-o", "gad-7-again.toml")
    run("validate", "gad-7-again.toml")
    run("validate", REPO / "examples" / "definitions" / "broken.toml", expect=1)


def clinic() -> None:
    print("The clinic", flush=True)
    env = {"NEFKIT_DB": str(WORK / "clinic.db"), "NEFKIT_USER": "dr-journey"}
    answers = [f"{item}=1" for item in PHQ] + ["phq9_10=1"]
    done = run("record", "phq-9", "--client", "J1", *answers, expect=1, env=env)
    check("nefkit db init" in done.stderr, "a database that does not exist names db init")
    check(not (WORK / "clinic.db").exists(), "a command other than db init made a database")
    run("db", "init", env=env)
    check((WORK / "clinic.db").stat().st_mode & 0o777 == 0o600, "the database is private")
    done = run("record", "phq-9", "--client", "J1", "--session", "1", *answers, env=env)
    check("PHQ-9 total: 9" in done.stdout, "record prints the score")
    worse = [f"{item}=3" for item in PHQ] + ["phq9_10=2"]
    done = run("record", "phq-9", "--client", "J1", "--session", "2", *worse, env=env)
    check("RISK" in done.stdout and "DETERIORATION" in done.stdout, "record says the alerts")
    run("template", "gad-7", "-o", "gad-7-entry.csv")
    with open(WORK / "gad-7-entry.csv", encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    filled = {"respondent_id": "J2", "session": "1", "administered_at": "2026-10-01"}
    filled |= {f"gad7_{i}": "2" for i in range(1, 8)}
    with open(WORK / "gad-7-entry.csv", "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow([filled.get(column, "") for column in header])
    run("record", "gad-7", "--file", "gad-7-entry.csv", env=env)
    # administer, driven as a client types: PHQ-9 (nine answers, the difficulty, Enter to
    # finish), then GAD-7 (seven answers, Enter)
    typed = "1\n" * 9 + "0\n\n" + "1\n" * 7 + "\n"
    done = run("administer", "phq-9", "gad-7", "--client", "J3", stdin=typed, env=env)
    history = run("history", "--client", "J3", env=env).stdout
    check(history.count("finished") == 2, f"administer finished both forms:\n{history}")
    alerts = run("alerts", env=env).stdout
    check("RISK" in alerts, "alerts lists the risk")
    first_alert = re.search(r"^\[(\d+)\]", alerts, re.M)
    check(first_alert is not None, "alerts are numbered")
    run("alerts", "--ack", first_alert.group(1), "--note", "Discussed", env=env)
    run("clients", env=env)
    run("correct", "1", "phq9_1=2", "--reason", "transcription error", env=env)
    run("void", "3", "--reason", "entered twice", env=env)
    for target in ("j1.html", "j1.xlsx", "j1.csv"):
        run("report", "--client", "J1", "-o", target, env=env)
    html_page(WORK / "j1.html", "J1")
    check((WORK / "j1.html").stat().st_mode & 0o777 == 0o600, "a report is its owner's alone")
    # PHQ-9 from J1 and J3, GAD-7 from J3 alone (J2's is voided): a cohort report on GAD-7 would
    # be J3's, and is refused; PHQ-9 meets a small-cell rule of 2.
    run("report", "--cohort", "-o", "cohort.html", expect=1, env=env)
    for target in ("cohort.html", "cohort.xlsx", "cohort.csv"):
        run("report", "--cohort", "--instrument", "phq-9", "--min-cell", "2", "-o", target, env=env)
    run("db", "backup", "backup.db", env=env)
    check((WORK / "backup.db").stat().st_size > 0, "the backup was written")
    done = run("db", "export", "export", env=env)
    check((WORK / "export" / "audit.jsonl").is_file(), "db export writes the audit trail")
    done = run(
        "db", "erase", "--client", "J2", "--reason", "data-protection request", "--yes", env=env
    )
    check(done.stdout.startswith("Erased 1 administrations"), "the erasure says it is done")
    check("J2" not in run("clients", env=env).stdout, "erased client gone")
    trail = run("db", "audit", env=env).stdout
    check("report J1" in trail and "backup: cohort" in trail, "reads are in the audit trail")
    check("J2" not in trail, "the audit trail keeps that an erasure happened, not whose")
    check("no problems found" in run("db", "check", env=env).stdout, "db check passes")


# --------------------------------------------------------------------------------------------
# The README, as written


@dataclass(frozen=True)
class Expect:
    code: int = 0
    stdin: str | None = None


PHQ_AND_GAD = "1\n" * 9 + "0\n\n" + "1\n" * 7 + "\n"
# NEQ-20: "No" to the twenty effects, nothing for the open question, Enter to finish; then
# the reflection inventory's six choices and one text answer, two supports, Enter.
NEQ_AND_REFLECTION = "0\n" * 20 + "\n\n" + "0\n" * 7 + "1,2\n\n"

# Each README command with what it must do; None marks a mention of a command in the prose,
# not a command to run.
README: dict[str, Expect | None] = {
    "nefkit instruments": Expect(),
    "nefkit schema": Expect(),
    "nefkit show neq-20": Expect(),
    "nefkit validate examples/definitions/broken.toml": Expect(1),
    "nefkit plugins --all": Expect(),
    "nefkit alerts --db nefkit-demo/clinic.db": Expect(),
    "nefkit info-sheet neq-20 -o side-effects.html": Expect(),
    "nefkit administer phq-9 gad-7 --client C017": Expect(stdin=PHQ_AND_GAD),
    "nefkit administer neq-20 therapy-reflection --client C017": Expect(stdin=NEQ_AND_REFLECTION),
    "nefkit alerts": Expect(),
    'nefkit alerts --ack 12 --note "Discussed; plan adjusted"': Expect(),
    "nefkit alerts --all": Expect(),
    "nefkit history --client C017": Expect(),
    "nefkit report --client C017 -o C017.html": Expect(),
    "nefkit new calm-3": Expect(),
    "nefkit validate --check-examples calm-3.toml": Expect(),
    "nefkit validate --check-examples phq-9": Expect(),
    "nefkit template calm-3 -o entry.xlsx --instruments .": Expect(),
    "nefkit score calm-3 entry.xlsx -o scores.csv --instruments .": Expect(),
    "nefkit analyze calm-3 entry.xlsx -o analysis.html --instruments .": Expect(),
    "nefkit codebook calm-3 -o codebook.html --instruments .": Expect(),
    "nefkit export-definition phq-9 -o phq-9.xlsx": Expect(),
    "nefkit import-definition phq-9.xlsx": Expect(),
    "nefkit sql neq-20 --dialect postgres --table answers": Expect(),
    "nefkit db init": Expect(),  # the demo's database: there already, so nothing changes
    "nefkit db audit --client C017": Expect(),
    "nefkit db check": Expect(),
    "nefkit db audit": Expect(),
    "nefkit db erase --finish": Expect(),
    "nefkit db erase": None,
    "nefkit validate --check-examples": None,
    "nefkit user add dr-lee": Expect(stdin="a long enough password\n" * 2),
    "nefkit invite phq-9 gad-7 --client C017": Expect(),
    "nefkit serve": None,  # runs until stopped: see serve() below
    "nefkit trajectories fit": None,  # see not_on_track() below
    "nefkit db expected": Expect(),  # the demo's database has the demo's course in use
}
PLACEHOLDER = re.compile(r"\.\.\.|\||\[|^[A-Z][A-Z_=]*$")


def readme_commands(text: str) -> list[str]:
    """The complete commands in the README's code: lines of fenced blocks and inline spans
    that start with ``nefkit``, without what follows two spaces (a comment, or a synopsis
    line's description); synopsis lines (ID, DATA, ...) and inline
    mentions of a bare command are not commands."""
    commands = []
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
    lines = [line for block in fenced.findall(text) for line in block.splitlines()]
    prose = fenced.sub("", text)
    spans = [" ".join(s.split()) for s in re.findall(r"`(nefkit [^`]+)`", prose)]
    for line in [*lines, *(s for s in spans if len(s.split()) > 2)]:
        command = re.split(r"\s{2,}", line.strip())[0]  # without a comment or description
        if not command.startswith("nefkit "):
            continue
        if any(PLACEHOLDER.search(word) for word in shlex.split(command)[1:]):
            continue
        commands.append(command)
    return list(dict.fromkeys(commands))


def readme() -> None:
    print("Every command in the README", flush=True)
    commands = readme_commands((REPO / "README.md").read_text(encoding="utf-8"))
    unknown = [c for c in commands if c not in README]
    check(not unknown, f"README commands this script does not run: {unknown}")
    stale = [c for c in README if c not in commands]
    check(not stale, f"commands no longer in the README: {stale}")
    shutil.copytree(REPO / "examples", WORK / "examples")
    run("demo", "-o", "nefkit-demo")
    env = {"NEFKIT_DB": str(WORK / "nefkit-demo" / "clinic.db"), "NEFKIT_USER": "dr-readme"}
    for command in commands:
        expect = README[command]
        if expect is None:
            continue
        run(*shlex.split(command)[1:], expect=expect.code, stdin=expect.stdin, env=env)
    history = run("history", "--client", "C017", env=env).stdout
    check(history.count("finished") == 4, f"the README's administer finished its forms:\n{history}")


def not_on_track() -> None:
    """Fit, alert, report on the demo data: an expected course fitted from the demo's PHQ-9,
    put in use while its forms are recorded; the alerts, db check and the client report."""
    print("Not on track", flush=True)
    env = {"NEFKIT_DB": str(WORK / "expected.db"), "NEFKIT_USER": "dr-journey"}
    data = REPO / "plugins" / "nefkit_demo" / "data" / "phq-9.csv"
    run("db", "init", env=env)
    run(
        "trajectories", "fit", "phq-9", data, "-o", "expected.toml",
        "--groups", "quantiles", "--quantiles", "2", "--min-cell", "3",
    )  # fmt: skip
    run("validate", "expected.toml")
    run("record", "phq-9", "--file", data, "--expected", "expected.toml", env=env)
    alerts = run("alerts", env=env).stdout
    check("C005 phq-9 session 2 WARNING" in alerts, f"C005 is not on track at session 2:\n{alerts}")
    check("expected.toml" in run("db", "expected", env=env).stdout, "db expected lists it")
    check("no problems found" in run("db", "check", env=env).stdout, "db check agrees")
    run("report", "--client", "C005", "-o", "c005-expected.html", env=env)
    html_page(WORK / "c005-expected.html", "Expected range", "not on track")


def serve() -> None:
    """nefkit serve from the wheel alone: a clinician, an invitation, the client's link and an
    answer over HTTP, the clinician's sign-in, then Ctrl-C."""
    print("nefkit serve", flush=True)
    env = {"NEFKIT_DB": str(WORK / "serve.db"), "NEFKIT_USER": "dr-journey"}
    run("db", "init", env=env)
    run("user", "add", "dr-web", env={**env, "NEFKIT_PASSWORD": "a long enough password"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    done = run("invite", "phq-9", "--client", "W1", "--url", base, "--qr", "w1.svg", env=env)
    link = re.search(r"http://\S+/f/\S+", done.stdout)[0]
    check((WORK / "w1.svg").read_text().startswith("<svg"), "invite --qr writes an SVG")
    server = subprocess.Popen(
        [NEFKIT, "serve", "--port", str(port)],
        cwd=WORK,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        for _ in range(100):
            try:
                page = client.open(link, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise Failed("nefkit serve did not answer")
        check("Question 1 of 10" in page, "the link opens the PHQ-9")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
        form = {"csrf": csrf, "item": "phq9_1", "action": "answer", "answer": "2"}
        page = client.open(f"{base}/form", urllib.parse.urlencode(form).encode()).read().decode()
        check("Question 2 of 10" in page, "an answer moves on to the next question")
        clinician = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        login = {"name": "dr-web", "password": "a long enough password"}
        page = clinician.open(f"{base}/login", urllib.parse.urlencode(login).encode()).read()
        check(b"Open alerts" in page, "the clinician signs in")
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    check("Traceback" not in err, f"nefkit serve stopped without a traceback:\n{err[-2000:]}")
    history = run("history", "--client", "W1", env=env).stdout
    check("unfinished" in history, f"the web answer is in the client's history:\n{history}")


def main() -> int:
    print(f"nefkit: {NEFKIT}\nscratch folder: {WORK}", flush=True)
    started = time.monotonic()
    try:
        for journey in (
            install,
            readme,
            clinic,
            not_on_track,
            serve,
            research,
            inputs_and_outputs,
            scoring_at_scale,
        ):
            journey()
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    shutil.rmtree(WORK)
    print(f"user journey passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
