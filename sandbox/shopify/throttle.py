"""The cost-based leaky bucket of each shop (GraphQL Admin API rate limit)."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Shop


@dataclass(frozen=True)
class BucketStatus:
    maximum: float
    available: float
    restore_rate: float

    def as_dict(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": int(self.available) if float(self.available).is_integer() else self.available,
            "restoreRate": float(self.restore_rate),
        }


def _refilled(shop: Shop, now) -> float:
    if shop.bucket_checked_at is None:
        return shop.bucket_size
    elapsed = max((now - shop.bucket_checked_at).total_seconds(), 0.0)
    return min(shop.bucket_size, shop.bucket_available + elapsed * shop.restore_rate)


@transaction.atomic
def take(shop_id: int, requested: int) -> tuple[bool, BucketStatus]:
    """Reserve `requested` points; (False, status) without charging when the bucket lacks them."""
    shop = Shop.objects.select_for_update().get(pk=shop_id)
    now = timezone.now()
    available = _refilled(shop, now)
    allowed = available >= requested
    if allowed:
        available -= requested
    Shop.objects.filter(pk=shop_id).update(bucket_available=available, bucket_checked_at=now)
    return allowed, BucketStatus(shop.bucket_size, round(available, 2), shop.restore_rate)


@transaction.atomic
def refund(shop_id: int, points: int) -> BucketStatus:
    """Give back the difference between requested and actual cost."""
    shop = Shop.objects.select_for_update().get(pk=shop_id)
    now = timezone.now()
    available = min(shop.bucket_size, _refilled(shop, now) + max(points, 0))
    Shop.objects.filter(pk=shop_id).update(bucket_available=available, bucket_checked_at=now)
    return BucketStatus(shop.bucket_size, round(available, 2), shop.restore_rate)


def reset(shop: Shop) -> None:
    """Fill the bucket (admin action and tests)."""
    Shop.objects.filter(pk=shop.pk).update(bucket_available=shop.bucket_size, bucket_checked_at=timezone.now())
