"""The wheel holds the two apps and nothing else, and works in a fresh virtualenv with a fresh host
project that follows docs/developers/install.md: it migrates, passes its checks and runs the dunning
template."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif("connection.vendor != 'sqlite'", reason="independent of the database: runs in the SQLite leg"),
]

SETTINGS = '''
SECRET_KEY = "host-project"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles",
    "rest_framework", "polymorphic", "simple_history", "django_q", "billing_events", "automations",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware", "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {
    "context_processors": ["django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
                           "django.contrib.messages.context_processors.messages"]}}]
ROOT_URLCONF = "hostproj.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
import django
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {"name": "automations", "orm": "default", "workers": 1, "timeout": 60, "retry": 90,
             "max_attempts": 1, "ack_failures": True, "catch_up": False, "sync": True}
BILLING_EVENTS = {"BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway"}
'''

URLS = '''
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("api/", include("automations.api.urls"))]
'''

RUN_DUNNING = '''
import json, os
from datetime import timedelta
os.environ["DJANGO_SETTINGS_MODULE"] = "hostproj.settings"
import django
django.setup()
from django.core import mail
from django.core.management import call_command
import automations, billing_events
from automations import clock, library, services
from automations.engine import tick
from automations.models import Execution, Task
from billing_events import emit
from billing_events.catalogue import get_event_type

call_command("migrate", verbosity=0)
call_command("check", fail_level="WARNING")
automation = library.instantiate("payment_dunning")
services.activate(automation)
emit("payment.failed", get_event_type("payment.failed").sample_data(), id="evt_host_1")
for days in (3, 7):
    clock.set_now(clock.now() + timedelta(days=days))
    tick()
execution = Execution.objects.get()
print(json.dumps({"status": execution.status, "emails": [m.subject for m in mail.outbox],
                  "tasks": Task.objects.count(), "apps": [automations.__file__, billing_events.__file__]}))
'''


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def machine_clock() -> dict[str, str]:
    """The environment without libfaketime, for the one call that reaches the package registry: on a
    clock moved years away (the suite under ``faketime``) its TLS certificate reads as expired."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FAKETIME")}
    preload = [library for library in env.pop("LD_PRELOAD", "").split(":") if library and "faketime" not in library]
    return {**env, **({"LD_PRELOAD": ":".join(preload)} if preload else {})}


def test_the_wheel_installs_into_a_fresh_host_project_that_runs_the_dunning(tmp_path):
    source = tmp_path / "source"  # a clean copy: no build/ or egg-info left over from earlier builds
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__",
                                                                "*.sqlite3", "staticfiles"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("billing_automations-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"automations", "billing_events",
                                                       f"{wheel.name.split('-py3')[0]}.dist-info"}
    assert "automations/templates/admin/automations/automation/change_form.html" in names
    assert "automations/library/payment_dunning.json" in names
    assert "automations/migrations/0001_initial.py" in names and "billing_events/migrations/0001_initial.py" in names

    run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    python = tmp_path / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path, env=machine_clock())
    host = tmp_path / "host"
    (host / "hostproj").mkdir(parents=True)
    (host / "hostproj" / "__init__.py").write_text("")
    (host / "hostproj" / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (host / "hostproj" / "urls.py").write_text(textwrap.dedent(URLS))
    (host / "run_dunning.py").write_text(textwrap.dedent(RUN_DUNNING))

    result = json.loads(run(python, "run_dunning.py", cwd=host).strip().splitlines()[-1])
    assert all(str(tmp_path / "venv") in path for path in result["apps"]), "the apps come from the wheel"
    assert result["status"] == "succeeded"
    assert result["emails"] == ["We couldn't process your payment for INV-2026-0042",
                                "Action required: invoice INV-2026-0042 is still unpaid",
                                "Final notice: invoice INV-2026-0042"]
    assert result["tasks"] == 1
