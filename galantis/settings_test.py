"""Settings of the test suite: the project's own, in development mode.

DEBUG defaults to off (galantis/settings.py), so the tests turn it on explicitly, before
the project's settings read the environment. pytest-django forces ``settings.DEBUG`` back
to False while tests run, as Django's runner does; what DEBUG decides at import (the
development keys, ALLOWED_HOSTS, the sandbox, cookie and SSL settings) stays. Tests of
production settings start their own interpreter with their own environment.

django-axes refuses ``authenticate()`` without a request, which is how the test client's
``login()`` calls it, so it is off here; the throttling tests turn it on
(tests/test_login_throttling.py), and logins through the admin's form work either way.
"""

import os

os.environ["DEBUG"] = "True"

from galantis.settings import *  # noqa: E402, F403

AXES_ENABLED = False
