"""``manage.py setup``: get a checkout ready to run (make run calls it, with --start).

Before this command runs, manage.py has written .env if there was none (thumbs_admin/envfile.py): that
has to happen before the settings load, since they read .env at import. This command does the rest, every
step safe to repeat: check that the ports are free and record in .env the ones given in the environment,
migrate, make sure a login exists, say where the console will be, and with --start hand over to honcho.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from thumbs_admin import envfile

HOST = "127.0.0.1"


class Command(BaseCommand):
    help = (
        "Migrate, make sure a login exists (printing a new password once), check that PORT and, in simulator "
        "mode, ZEGO_SIMULATOR_PORT are free, and say where the console will be. With --start, then run the "
        "Procfile's processes with honcho (what make run does)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--start",
            action="store_true",
            help="Then replace this process with honcho running the Procfile (web, simulator, worker).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            web_port = envfile.port("PORT", os.environ.get("PORT", str(envfile.PORT_DEFAULTS["PORT"])))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        simulator = settings.ZEGO_SIMULATOR
        sim_port = settings.ZEGO_SIMULATOR_PORT
        # Checked first: a second make run stops here, without touching .env or the database.
        self._check_ports(web_port, sim_port if simulator else None)
        for line in envfile.record_ports():
            self.stdout.write(f"setup: {line}")
        # To sys.stdout, not self.stdout: migrate's "Applying x... OK" lines are written in two parts.
        call_command("migrate", interactive=False, verbosity=options["verbosity"])
        self._ensure_login()

        where = f"the ZEGO simulator on {HOST}:{sim_port}" if simulator else f"ZEGO at {settings.ZEGO_API_URL}"
        processes = ["web", "simulator", "worker"] if simulator else ["web", "worker"]
        self.stdout.write(f"setup: thumbs will be at http://{HOST}:{web_port}/, calling {where}.")
        if not options["start"]:
            self.stdout.write("setup: start it with make run.")
            return
        self._exec_honcho(processes, web_port, sim_port)

    def _check_ports(self, web_port: int, sim_port: int | None) -> None:
        if sim_port is not None and sim_port == web_port:
            raise CommandError(
                f"PORT and ZEGO_SIMULATOR_PORT are both {web_port}: give them different ports "
                "(ZEGO_SIMULATOR_PORT=NNNN make run)."
            )
        if not _port_free(web_port):
            raise CommandError(
                f"Port {web_port} on {HOST} is already in use (another make run?). "
                "Stop that, or give another port: PORT=NNNN make run."
            )
        if sim_port is not None and not _port_free(sim_port):
            raise CommandError(
                f"Port {sim_port} on {HOST} (the ZEGO simulator's) is already in use. "
                "Stop that, or give another port: ZEGO_SIMULATOR_PORT=NNNN make run."
            )

    def _ensure_login(self) -> None:
        """The login named by DJANGO_SUPERUSER_USERNAME/PASSWORD, else any superuser, else a new ``admin``."""
        user_model = get_user_model()
        users = user_model._default_manager
        name_field = user_model.USERNAME_FIELD
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if bool(username) != bool(password):
            given, missing = ("USERNAME", "PASSWORD") if username else ("PASSWORD", "USERNAME")
            raise CommandError(
                f"DJANGO_SUPERUSER_{given} is set but DJANGO_SUPERUSER_{missing} is not: set both, or neither."
            )
        if username:
            if users.filter(**{name_field: username}).exists():
                self.stdout.write(f"setup: login: user '{username}' already exists (left unchanged).")
            else:
                users.create_superuser(
                    **{name_field: username}, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password=password
                )
                self.stdout.write(
                    f"setup: login: created superuser '{username}' with the password from DJANGO_SUPERUSER_PASSWORD."
                )
            return

        existing = users.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            name = existing.get_username()
            self.stdout.write(
                f"setup: login: superuser '{name}' "
                f"(forgot the password? .venv/bin/python manage.py changepassword {name})"
            )
            return
        if users.filter(**{name_field: "admin"}).exists():
            self.stdout.write(
                "setup: login: no superuser exists, and user 'admin' is not one: create one with "
                ".venv/bin/python manage.py createsuperuser (or set DJANGO_SUPERUSER_USERNAME and "
                "DJANGO_SUPERUSER_PASSWORD and run this again)."
            )
            return
        new_password = secrets.token_urlsafe(12)
        users.create_superuser(**{name_field: "admin"}, email="", password=new_password)
        rule = "=" * 64
        self.stdout.write(
            f"\n  {rule}\n"
            "   A login was created for you (this password is shown ONLY ONCE):\n"
            "     username: admin\n"
            f"     password: {new_password}\n"
            "   Change it with: .venv/bin/python manage.py changepassword admin\n"
            f"  {rule}\n"
        )

    def _exec_honcho(self, processes: list[str], web_port: int, sim_port: int) -> None:
        bin_dir = Path(sys.executable).parent
        honcho = bin_dir / "honcho"
        if not honcho.exists():
            raise CommandError(f"{honcho} is missing: run make install.")
        # The processes inherit this environment, and their settings read .env as this command's did
        # (the environment wins). honcho's own .env loading would reverse that order, hence --env /dev/null;
        # the two ports are passed explicitly instead. `python` in the Procfile is this virtualenv's.
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "ZEGO_SIMULATOR_PORT": str(sim_port),
            # honcho gives each process its own PORT; the simulator's callbacks need the console's.
            "WEB_PORT": str(web_port),
            "PYTHONUNBUFFERED": "1",  # each line reaches honcho, and the terminal, as it is written
        }
        procfile = Path(settings.BASE_DIR) / "Procfile"
        argv = [str(honcho), "start", "--procfile", str(procfile), "--env", os.devnull, "--port", str(web_port)]
        argv += processes
        self.stdout.write(f"setup: honcho start {' '.join(processes)}   (Procfile; Ctrl-C stops them all)\n")
        self.stdout.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        connections.close_all()
        os.chdir(settings.BASE_DIR)  # where the Procfile's `python manage.py` runs
        os.execve(honcho, argv, env)  # noqa: S606 -- a fixed program and arguments, no shell


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True
