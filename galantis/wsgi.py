"""WSGI entry point (gunicorn galantis.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "galantis.settings")
application = get_wsgi_application()
