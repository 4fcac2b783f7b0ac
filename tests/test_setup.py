"""make run's parts: the .env it writes, the setup command, the Procfile, and honcho running it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command, get_commands, load_command_class
from honcho.environ import parse_procfile

from dashboard.management.commands import setup as setup_command
from tests.conftest import free_port
from thumbs_admin import envfile

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_LINE = re.compile(r"^\s+password: (\S+)$", re.MULTILINE)


# --- .env ---------------------------------------------------------------------------------------------


def test_it_writes_a_private_env_with_debug_on_and_a_fresh_key(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert envfile.prepare({"THUMBS_ENV_FILE": str(first)}) != []
    envfile.prepare({"THUMBS_ENV_FILE": str(second)})
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    text = first.read_text()
    key = re.search(r"^DJANGO_SECRET_KEY=(.+)$", text, re.MULTILINE).group(1)
    assert len(key) >= 50 and key not in second.read_text()
    assert re.search(r"^DJANGO_DEBUG=on$", text, re.MULTILINE)
    assert "# ZEGO_API_URL=https://rtc-api.zego.im/" in text  # the rest of .env.example is kept


def test_a_second_run_reuses_the_env_it_wrote(tmp_path):
    target = tmp_path / ".env"
    envfile.prepare({"THUMBS_ENV_FILE": str(target)})
    before = target.read_text()
    assert envfile.prepare({"THUMBS_ENV_FILE": str(target)}) == []
    assert target.read_text() == before


def test_it_writes_no_env_when_thumbs_env_file_is_empty_or_the_example_is_missing(tmp_path):
    assert envfile.prepare({"THUMBS_ENV_FILE": ""}) == []
    with pytest.raises(ValueError, match="missing"):
        envfile.prepare({"THUMBS_ENV_FILE": str(tmp_path / ".env")}, example=tmp_path / "nope")
    assert not (tmp_path / ".env").exists()


def test_it_records_a_port_given_in_the_environment_once(tmp_path):
    target = tmp_path / ".env"
    envfile.prepare({"THUMBS_ENV_FILE": str(target)})
    env = {"THUMBS_ENV_FILE": str(target), "ZEGO_SIMULATOR_PORT": "18001", "PORT": "8000"}
    assert envfile.record_ports(env) == [
        "recorded ZEGO_SIMULATOR_PORT=18001 in .env, so later runs and commands use it."
    ]  # PORT=8000 is the default, which .env already means
    text = target.read_text()
    # In place of the example's commented-out line, not beside it.
    assert re.findall(r"^#?\s*ZEGO_SIMULATOR_PORT=.*$", text, re.MULTILINE) == ["ZEGO_SIMULATOR_PORT=18001"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert envfile.record_ports(env) == []
    assert envfile.record_ports({"THUMBS_ENV_FILE": str(target), "PORT": "9000"}) == [
        "recorded PORT=9000 in .env, so later runs and commands use it."
    ]
    assert "\nPORT=9000\n" in target.read_text() and "ZEGO_SIMULATOR_PORT=18001" in target.read_text()


# --- the setup command, in process -------------------------------------------------------------------


@pytest.fixture
def ports(monkeypatch, settings):
    """Free ports for PORT and the simulator: 8000 and 8001 may be in use on a shared machine."""
    web, sim = free_port(), free_port()
    monkeypatch.setenv("PORT", str(web))
    settings.ZEGO_SIMULATOR_PORT = sim
    for name in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return web, sim


def setup(*args: str) -> str:
    out = StringIO()
    call_command("setup", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_an_admin_once_and_shows_its_password_once(ports):
    out = setup()
    passwords = PASSWORD_LINE.findall(out)
    assert len(passwords) == 1 and "ONLY ONCE" in out
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(passwords[0])
    assert f"http://127.0.0.1:{ports[0]}/" in out

    again = setup()
    assert not PASSWORD_LINE.search(again) and passwords[0] not in again
    assert "superuser 'admin'" in again and User.objects.count() == 1


@pytest.mark.django_db
def test_it_creates_the_superuser_named_in_the_environment(ports, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "ops")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough pass phrase")
    out = setup()
    assert "created superuser 'ops'" in out and not PASSWORD_LINE.search(out)
    ops = User.objects.get(username="ops")
    assert ops.is_superuser and ops.check_password("a long enough pass phrase")

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another pass phrase")
    assert "'ops' already exists (left unchanged)" in setup()
    ops.refresh_from_db()
    assert ops.check_password("a long enough pass phrase")
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_it_says_what_to_do_when_admin_exists_but_is_not_a_superuser(ports):
    User.objects.create_user("admin", password="whatever it is")
    out = setup()
    assert "'admin' is not one" in out and "createsuperuser" in out
    assert not PASSWORD_LINE.search(out) and User.objects.count() == 1


@pytest.mark.django_db
def test_it_wants_both_superuser_variables_or_neither(ports, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "ops")
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD is not"):
        setup()
    assert User.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["web", "simulator"])
def test_a_busy_port_stops_it_naming_the_variable_to_change(ports, which):
    port = ports[0] if which == "web" else ports[1]
    variable = "PORT" if which == "web" else "ZEGO_SIMULATOR_PORT"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(CommandError) as excinfo:
            setup()
    assert f"Port {port} on 127.0.0.1" in str(excinfo.value) and f"{variable}=NNNN make run" in str(excinfo.value)
    assert User.objects.count() == 0  # it stopped before doing anything


@pytest.mark.django_db
def test_it_refuses_one_port_for_both_or_a_port_that_is_no_number(ports, monkeypatch, settings):
    settings.ZEGO_SIMULATOR_PORT = ports[0]
    with pytest.raises(CommandError, match="PORT and ZEGO_SIMULATOR_PORT are both"):
        setup()
    monkeypatch.setenv("PORT", "80a")
    with pytest.raises(CommandError, match=r"PORT='80a': expected a TCP port"):
        setup()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("simulator_mode", "processes"), [(True, ["web", "simulator", "worker"]), (False, ["web", "worker"])]
)
def test_start_runs_the_simulator_line_only_in_simulator_mode(ports, monkeypatch, settings, simulator_mode, processes):
    settings.ZEGO_SIMULATOR = simulator_mode
    started = {}

    def execve(program, argv, env):
        started.update(program=program, argv=argv, env=env)
        raise SystemExit(0)

    monkeypatch.setattr(setup_command.os, "execve", execve)
    monkeypatch.setattr(setup_command.os, "chdir", lambda path: None)
    monkeypatch.setattr(setup_command, "connections", SimpleNamespace(close_all=lambda: None))  # the test's own
    with socket.socket() as holder:
        if not simulator_mode:  # the simulator's port is nobody's business then
            holder.bind(("127.0.0.1", ports[1]))
            holder.listen()
        with pytest.raises(SystemExit):
            setup("--start")
    argv = started["argv"]
    assert Path(started["program"]).name == "honcho" and argv[1] == "start"
    assert argv[-len(processes) :] == processes
    assert argv[argv.index("--port") + 1] == str(ports[0])
    assert started["env"]["ZEGO_SIMULATOR_PORT"] == str(ports[1])
    assert started["env"]["WEB_PORT"] == str(ports[0])
    assert started["env"]["PATH"].startswith(str(Path(sys.executable).parent))


# --- the Procfile --------------------------------------------------------------------------------------


def procfile_argv(command: str, **env: str) -> list[str]:
    """The words the shell makes of a Procfile command (honcho runs each through /bin/sh)."""
    words = subprocess.run(
        ["/bin/sh", "-c", f"set -- {command}; printf '%s\\n' \"$@\""],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return words.stdout.splitlines()


def test_every_procfile_line_is_a_management_command_that_takes_its_arguments():
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert list(processes) == ["web", "simulator", "worker"]
    parsed = {}
    for name, command in processes.items():
        argv = procfile_argv(command, PORT="8123", ZEGO_SIMULATOR_PORT="8124", WEB_PORT="8125")
        assert argv[:2] == ["python", "manage.py"], command
        app = get_commands()[argv[2]]
        parser = load_command_class(app, argv[2]).create_parser("manage.py", argv[2])
        parsed[name] = parser.parse_args(argv[3:])  # exits (fails the test) on an unknown option
    assert parsed["web"].addrport == "127.0.0.1:8123" and parsed["web"].use_reloader is False
    assert parsed["simulator"].port == 8124
    # honcho gives the simulator a PORT of its own: its callbacks go to the console's, WEB_PORT (setup).
    assert parsed["simulator"].callback_url == "http://127.0.0.1:8125/zego/callback"
    assert parsed["worker"].reload is False and parsed["worker"].batch is False
    # Without ZEGO_SIMULATOR_PORT the simulator takes the settings' default, as the console does.
    assert procfile_argv(processes["simulator"])[-1] == "8001"
    assert "http://127.0.0.1:8000/zego/callback" in procfile_argv(processes["simulator"])


# --- the real thing: manage.py and honcho in subprocesses ------------------------------------------------


def project_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A checkout's environment with its own .env and database: nothing from the tests' settings."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ZEGO_", "DATABASE_URL", "THUMBS_", "PORT"))
    }
    return {
        **clean,
        "THUMBS_ENV_FILE": str(tmp / ".env"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def manage(tmp: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=project_env(tmp, **extra),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_manage_py_setup_writes_env_before_the_settings_need_it_and_reruns_reuse_it(tmp_path):
    ports = {"PORT": str(free_port()), "ZEGO_SIMULATOR_PORT": str(free_port())}
    first = manage(tmp_path, "setup", **ports)
    assert first.returncode == 0, first.stderr
    env_text = (tmp_path / ".env").read_text()
    assert "setup: wrote .env" in first.stdout and len(PASSWORD_LINE.findall(first.stdout)) == 1
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600

    second = manage(tmp_path, "setup", **ports)
    assert second.returncode == 0, second.stderr
    assert "wrote .env" not in second.stdout and not PASSWORD_LINE.search(second.stdout)
    assert "superuser 'admin'" in second.stdout
    assert (tmp_path / ".env").read_text() == env_text


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_make_run_serves_both_ports_the_cli_reaches_its_simulator_and_ctrl_c_stops_everything(tmp_path):
    web, sim = free_port(), free_port()
    run = subprocess.Popen(
        [sys.executable, "manage.py", "setup", "--start"],
        cwd=ROOT,
        env=project_env(tmp_path, PORT=str(web), ZEGO_SIMULATOR_PORT=str(sim)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so that only the signal this test sends reaches it
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(run.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not (answers(f"http://127.0.0.1:{web}/healthz") and answers(f"http://127.0.0.1:{sim}/")):
            assert run.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        assert "ZEGO_SIMULATOR_PORT=" + str(sim) in (tmp_path / ".env").read_text()

        # Another shell, without make run's environment: .env leads it to the same simulator.
        submit = "thumbnails submit --user admin --mode interval --vendor Huawei --file-id /record/a.mp4 --interval 5"
        submitted = manage(tmp_path, *submit.split())
        assert submitted.returncode == 0 and ": succeeded" in submitted.stdout, submitted.stdout + submitted.stderr
        deadline = time.monotonic() + 30
        while not any("simulator.1" in line and "Action=MediaThumbnails" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        # Once the task has finished, the simulator calls the console back (the Procfile's --callback-url).
        while not any("web.1" in line and '"POST /zego/callback HTTP/1.1" 200' in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        # A provider failure gets no callback: the worker finds it by asking DescribeMediaTask by itself.
        failing = manage(tmp_path, *submit.replace("/record/a.mp4", "9990999").split())
        assert failing.returncode == 0, failing.stdout + failing.stderr
        deadline = time.monotonic() + 60
        while not any("worker.1" in line and "result check (poll): status=FAILED" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)

        children = descendants(run.pid)
        assert len(children) >= 6  # honcho's helpers, and each line's shell and Python
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=30) == 130
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    reader.join(timeout=10)
    output = "".join(lines)
    assert "worker.1" in output and "Starting worker" in output
    assert "ZEGO simulator stopped." in output and "shutting down gracefully" in output
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], output
    assert not answers(f"http://127.0.0.1:{web}/healthz") and not answers(f"http://127.0.0.1:{sim}/")
    assert "Traceback" not in output, output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_sweep_loop_marks_stale_attempts_and_stops_cleanly_on_a_signal(tmp_path, signum):
    assert manage(tmp_path, "setup", PORT=str(free_port()), ZEGO_SIMULATOR_PORT=str(free_port())).returncode == 0
    make_stale = (
        "from django.contrib.auth.models import User; from dashboard import services; "
        "from dashboard.models import Attempt, Task; from django.utils import timezone; "
        "t = Task.objects.create(vendor='Tencent', mode='SnapshotByTimeOffset', file_id='1', definition=10, "
        "time_points=['1'], created_by=User.objects.get(), attempt_count=1, "
        "state_changed_at=timezone.now() - services.stale_after() * 2); "
        "Attempt.objects.create(task=t, number=1, reason='submit', created_by=t.created_by, nonce='0' * 16, "
        "timestamp=1, started_at=t.state_changed_at)"
    )
    created = manage(tmp_path, "shell", "--no-imports", "-c", make_stale)
    assert created.returncode == 0, created.stderr
    sweep = subprocess.Popen(
        [sys.executable, "manage.py", "thumbnails", "sweep", "--every", "0.2"],
        cwd=ROOT,
        env=project_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sweep.stdout.readline() == "Sweeping stale attempts every 0.2 s.\n"
        assert sweep.stdout.readline() == "Marked 1 stale attempt(s) unknown.\n"
        time.sleep(0.5)  # a few more rounds, which find nothing more to mark
        sweep.send_signal(signum)
        out, err = sweep.communicate(timeout=30)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode == 0, err
    assert out == "Sweep stopped.\n" and "Traceback" not in err
    states = manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from dashboard.models import Attempt, Task; print(Task.objects.get().state, Attempt.objects.get().state)",
    )
    assert states.stdout.split() == ["unknown", "unknown"]
