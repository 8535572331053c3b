"""Test settings: django-q2 runs tasks in-process (its Conf is read at import, so this must be a
settings module, not a fixture). Django's test set-up sends mail to the in-memory outbox."""
from config.settings import *  # noqa: F403
from config.settings import DATABASES, INSTALLED_APPS, Q_CLUSTER

# A host billing project with its own models and gateway (tests/host_project), and a step type
# declared outside automations (tests/noop_step).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.host_project", "tests.noop_step"]

Q_CLUSTER = {**Q_CLUSTER, "sync": True, "log_level": "WARNING"}
Q_CLUSTER.pop("redis", None)
Q_CLUSTER["orm"] = "default"
Q_CLUSTER["broker_class"] = "automations.brokers.orm.ORM"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
LOGGING = {"version": 1, "disable_existing_loggers": False}
