"""Settings of the test suite: the project's own, in development mode.

DEBUG defaults to off (galantis/settings.py), so the tests turn it on explicitly, before
the project's settings read the environment. pytest-django forces ``settings.DEBUG`` back
to False while tests run, as Django's runner does; what DEBUG decides at import (the
development keys, ALLOWED_HOSTS, the sandbox, cookie and SSL settings) stays. Tests of
production settings start their own interpreter with their own environment.
"""

import os

os.environ["DEBUG"] = "True"

from galantis.settings import *  # noqa: E402, F403
