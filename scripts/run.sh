#!/usr/bin/env bash
# Run the console locally against the built-in ZEGO simulator, no ZEGO account needed (make run).
#   PORT=8000                web server port on 127.0.0.1
#   ZEGO_SIMULATOR_PORT=8001 simulator port (or set it in .env)
#   DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD  the login to create if it does not exist
# Sets up .venv, writes .env if missing, migrates, makes sure a login exists, starts the simulator and
# the web server, and stops both on Ctrl-C, SIGTERM or when either one exits. Running it again reuses
# .venv, .env, the database and the login. The simulator's log goes to .run/simulator.log.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PY=.venv/bin/python
readonly PORT=${PORT:-8000}
say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: %s\n' "$*" >&2; exit 1; }

if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
    die "PORT=$PORT: expected a TCP port from 1 to 65535."
fi

make --no-print-directory install

if [[ ! -f .env ]]; then
    [[ -f .env.example ]] || die ".env.example is missing: cannot write .env."
    (
        umask 077  # .env holds the secret key
        "$PY" - <<'PY'
import re
import secrets
from pathlib import Path

text = Path(".env.example").read_text()
values = {"DJANGO_DEBUG": "on", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
for name, value in values.items():
    text, found = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
    if not found:
        text += f"{name}={value}\n"
Path(".env").write_text(text)
PY
    )
    say "wrote .env from .env.example with DJANGO_DEBUG=on and a new random DJANGO_SECRET_KEY (edit it to change settings)."
fi

# Settings errors (a bad .env value) stop here with manage.py's one-line message.
read -r simulator sim_port < <("$PY" manage.py shell --no-imports -c \
    'from django.conf import settings; print("on" if settings.ZEGO_SIMULATOR else "off", settings.ZEGO_SIMULATOR_PORT)') ||
    die "could not load the settings (see the message above)."
[[ -n "${sim_port:-}" ]] || die "could not load the settings (see the message above)."

# Both ports must be free before anything starts: a stale server would otherwise answer instead.
port_free() {
    "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}
port_free "$PORT" || die "port $PORT on 127.0.0.1 is already in use (another make run?). Stop that, or use PORT=NNNN make run."
if [[ $simulator == on ]]; then
    [[ "$sim_port" != "$PORT" ]] || die "PORT and ZEGO_SIMULATOR_PORT are both $PORT: give them different ports."
    port_free "$sim_port" || die "port $sim_port on 127.0.0.1 (the ZEGO simulator's) is already in use. Stop that, or use ZEGO_SIMULATOR_PORT=NNNN make run."
fi

"$PY" manage.py migrate --noinput

# A login: the one named by DJANGO_SUPERUSER_USERNAME/PASSWORD, else an existing superuser, else a new
# "admin" with a random password printed once.
if [[ -n "${DJANGO_SUPERUSER_USERNAME:-}" && -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]]; then
    exists=$("$PY" manage.py shell --no-imports -c '
import os
from django.contrib.auth import get_user_model
User = get_user_model()
print("yes" if User._default_manager.filter(**{User.USERNAME_FIELD: os.environ["DJANGO_SUPERUSER_USERNAME"]}).exists() else "no")')
    if [[ $exists == yes ]]; then
        say "login: user '$DJANGO_SUPERUSER_USERNAME' already exists (left unchanged)."
    else
        "$PY" manage.py createsuperuser --noinput --email "${DJANGO_SUPERUSER_EMAIL:-}" >/dev/null
        say "login: created superuser '$DJANGO_SUPERUSER_USERNAME' with the password from DJANGO_SUPERUSER_PASSWORD."
    fi
else
    login=$("$PY" manage.py shell --no-imports -c '
import secrets
from django.contrib.auth import get_user_model
User = get_user_model()
existing = User._default_manager.filter(is_superuser=True).order_by("pk").first()
if existing is not None:
    print("existing", existing.get_username())
elif User._default_manager.filter(**{User.USERNAME_FIELD: "admin"}).exists():
    print("taken admin")
else:
    password = secrets.token_urlsafe(12)
    User._default_manager.create_superuser(**{User.USERNAME_FIELD: "admin"}, email="", password=password)
    print("created admin", password)')
    read -r kind username password <<<"$login"
    case $kind in
        existing)
            say "login: superuser '$username' (forgot the password? .venv/bin/python manage.py changepassword $username)" ;;
        created)
            cat <<EOF

  ============================================================
   A login was created for you (this password is shown ONLY ONCE):
     username: $username
     password: $password
   Change it with: .venv/bin/python manage.py changepassword $username
  ============================================================

EOF
            ;;
        taken)
            say "login: no superuser exists and user 'admin' is not one; create one with .venv/bin/python manage.py createsuperuser" ;;
        *)
            die "could not check for a login: $login" ;;
    esac
fi

# --- servers ------------------------------------------------------------------------------------------
# Each server runs in its own session (setsid), so Ctrl-C reaches only this script, which then stops
# them in order; they are killed as whole process groups.
pids=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ((${#pids[@]} == 0)) || say "stopped."
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM

# Waits until 127.0.0.1:$2 accepts connections; returns 1 if process $1 exits first, 2 after 30 s.
wait_for_port() {
    local pid=$1 port=$2 i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 2
}

if [[ $simulator == on ]]; then
    mkdir -p .run
    setsid "$PY" manage.py zego_simulator --port "$sim_port" >.run/simulator.log 2>&1 </dev/null &
    sim_pid=$!
    pids+=("$sim_pid")
    wait_for_port "$sim_pid" "$sim_port" || {
        if (($? == 1)); then
            echo "run: the ZEGO simulator exited before listening on 127.0.0.1:$sim_port. Its log (.run/simulator.log):" >&2
        else
            echo "run: the ZEGO simulator did not listen on 127.0.0.1:$sim_port within 30 s. Its log (.run/simulator.log):" >&2
        fi
        sed 's/^/  | /' .run/simulator.log >&2
        exit 1
    }
    say "ZEGO simulator listening on 127.0.0.1:$sim_port (log: .run/simulator.log)"
    where="simulator on :$sim_port"
else
    api_url=$("$PY" manage.py shell --no-imports -c 'from django.conf import settings; print(settings.ZEGO_API_URL)')
    say "simulator mode is off: the console calls ZEGO at $api_url"
    where="ZEGO at $api_url"
fi

setsid "$PY" manage.py runserver --noreload "127.0.0.1:$PORT" </dev/null &
web_pid=$!
pids+=("$web_pid")
wait_for_port "$web_pid" "$PORT" || die "the web server did not start on 127.0.0.1:$PORT (see its output above)."
echo
say "thumbs is running at http://127.0.0.1:$PORT/ ($where); Ctrl-C stops $([[ $simulator == on ]] && echo both || echo it)"
echo

# Wait until a server exits or a signal arrives (a trapped signal interrupts wait at once).
set +e
wait -n "${pids[@]}"
rc=$?
set -e
if ! kill -0 "$web_pid" 2>/dev/null; then
    say "the web server exited (status $rc)."
else
    say "the ZEGO simulator exited (status $rc); last lines of .run/simulator.log:"
    tail -n 20 .run/simulator.log | sed 's/^/  | /'
fi
exit $((rc == 0 ? 1 : rc))
