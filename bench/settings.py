"""Settings of the bench's processes: the project's own, plus the naive baselines' endpoints.

Everything comes from ``galantis.settings`` (configured through the environment, see
``bench/environment.py``); only the URLconf differs, to serve ``bench/naive.py`` next to
the real routes, so a naive baseline goes through the same gunicorn, middleware and
database as the code it is compared with.
"""

from galantis.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
