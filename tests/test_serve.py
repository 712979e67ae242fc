"""The commands around nefkit serve, as a clinic runs them: `nefkit db init`, `nefkit user
add`, `nefkit invite`, then `nefkit serve` as a real process on a loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar

import pytest
from click.testing import CliRunner

from nefkit.cli import cli

PASSWORD = "a long enough password"


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "clinic.db"
    assert run("db", "init", path).exit_code == 0
    return path


def test_user_add_refuses_short_passwords_and_taken_names(db):
    short = run("user", "add", "dr.lee", "--db", db, env={"NEFKIT_PASSWORD": "short"})
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    added = run("user", "add", "dr.lee", "--db", db, env={"NEFKIT_PASSWORD": PASSWORD})
    assert added.exit_code == 0, added.output
    again = run("user", "add", "dr.lee", "--db", db, env={"NEFKIT_PASSWORD": PASSWORD})
    assert again.exit_code == 1 and "there is a user 'dr.lee' already" in again.output
    bad = run("user", "add", "<b>", "--db", db, env={"NEFKIT_PASSWORD": PASSWORD})
    assert bad.exit_code == 1 and "cannot be a user name" in bad.output


def test_invite_prints_a_link_without_the_client_id_and_a_code(db, tmp_path):
    qr = tmp_path / "link.svg"
    made = run(
        "invite",
        "phq-9",
        "gad-7",
        "--client",
        "C017",
        "--expires",
        "3d",
        "--qr",
        qr,
        "--db",
        db,
        "--by",
        "dr.lee",
    )
    assert made.exit_code == 0, made.output
    link = re.search(r"http://127\.0\.0\.1:8765/f/\S+", made.output)[0]
    assert "C017" not in link.split("/f/")[1]
    assert re.search(r"the code [A-Z0-9]{4}-[A-Z0-9]{4} at", made.output)
    assert qr.read_text().startswith("<svg") and (qr.stat().st_mode & 0o777) == 0o600
    for bad, said in [("10y", "give minutes, hours or days"), ("1m", "from 5 minutes to 30 days")]:
        refused = run("invite", "phq-9", "--client", "C017", "--expires", bad, "--db", db)
        assert refused.exit_code == 1 and said in refused.output
    unknown = run("invite", "phq-10", "--client", "C017", "--db", db)
    assert unknown.exit_code == 1 and "phq-10" in unknown.output


def test_serve_refuses_a_network_address_without_tls(db):
    refused = run("serve", "--host", "0.0.0.0", "--db", db)
    assert refused.exit_code == 2 and "--certfile and --keyfile" in refused.output
    half = run("serve", "--certfile", db, "--db", db)
    assert half.exit_code == 2 and "both --certfile and --keyfile" in half.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_and_stops_on_ctrl_c(db):
    port = free_port()
    env = {**os.environ, "NEFKIT_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "nefkit", "user", "add", "dr.lee", "--db", str(db)],
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "nefkit", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for _ in range(100):
            try:
                page = opener.open(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("nefkit serve did not answer: " + server.stderr.read())
        assert page.status == 200 and "Sign in" in page.read().decode()
        assert "nonce-" in page.headers["Content-Security-Policy"]
        assert "Server" not in page.headers  # nothing said about the software
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert f"Serving {db} at http://127.0.0.1:{port}/" in err
    assert "Traceback" not in err
