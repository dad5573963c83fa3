"""Small display helpers the admin lists and pages share: durations people read at a glance."""

from datetime import timedelta


def humanize_duration(value: timedelta | None) -> str:
    """``0:00:33.440136`` -> ``33 s``; ``1:02:05`` -> ``1 h 2 min``; None -> ``—``."""
    if value is None:
        return "—"
    seconds = max(0, int(round(value.total_seconds())))
    if seconds < 1 and value.total_seconds() > 0:
        return "under 1 s"
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
