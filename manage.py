#!/usr/bin/env python
"""Django's command-line utility for thumbs."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thumbs_admin.settings")
    if sys.argv[1:2] == ["setup"]:
        # Before the settings load: they read .env at import, and need the key that setup writes there.
        from thumbs_admin import envfile

        try:
            for line in envfile.prepare():
                print(f"setup: {line}")
        except ValueError as exc:
            sys.exit(f"thumbs: {exc}")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 -- load settings now, to report a bad variable in one line
    except ImproperlyConfigured as exc:
        sys.exit(f"thumbs: configuration error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
