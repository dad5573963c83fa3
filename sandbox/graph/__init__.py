"""The Graph API sandbox: services behind the ``/sandbox/graph/`` endpoints."""
