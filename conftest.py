"""Project-wide pytest setup."""

import pytest


@pytest.fixture(autouse=True)
def _sandbox_processes_batches_at_once(settings):
    """The Graph sandbox processes batches and feed uploads without its demo delay in tests."""
    settings.SANDBOX_BATCH_DELAY_SECONDS = 0
