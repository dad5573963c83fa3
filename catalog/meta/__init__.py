"""Meta Graph API access: client, typed errors, rate-limit throttle."""
