"""Additional reviews: ``POST /{catalog}/additional_reviews``, as Meta documents the edge.

Meta's "Product Catalog Additional Reviews" reference: an appeal of an integrity decision on
a product that was rejected; only after the product is rejected and only once per product;
up to 100 items a request with an optional short rationale message; 10 calls a day per
catalog. The review is asynchronous: the item goes back to ``pending`` and gets its outcome
later (here: the deterministic item checks run again on the item as it is now).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from ... import faults
from ...models import AdditionalReviewCall, ProductItem
from .. import errors
from ..router import Call, route
from ..taxonomy import check_item

MAX_ITEMS_PER_CALL = 100
CALLS_PER_DAY = 10


def _limit_reached() -> errors.GraphError:
    return errors.invalid_param(
        f"(#100) Additional reviews are limited to {CALLS_PER_DAY} calls per day per catalog; try again later."
    )


@route("catalog", "additional_reviews", "POST")
def additional_reviews(call: Call) -> dict:
    """Put rejected items back into review, once each; refuse the call past Meta's limits."""
    ids = call.params.list("product_ids")
    if not ids:
        raise errors.param_required("product_ids")
    if len(ids) > MAX_ITEMS_PER_CALL:
        raise errors.invalid_param(f"(#100) At most {MAX_ITEMS_PER_CALL} items can be requested per call.")
    day_ago = call.now - timedelta(days=1)
    if AdditionalReviewCall.objects.filter(catalog=call.catalog, created_at__gt=day_ago).count() >= CALLS_PER_DAY:
        raise _limit_reached()
    pks = [pk for pk in (ProductItem.pk_from_fbid(i) for i in ids) if pk is not None]
    items = ProductItem.objects.filter(catalog=call.catalog).filter(Q(pk__in=pks) | Q(retailer_id__in=ids))
    found = {item.fbid: item for item in items}
    refused = []
    for requested in ids:
        item = found.get(requested) or next((i for i in found.values() if i.retailer_id == requested), None)
        if item is None:
            refused.append({"id": requested, "message": "Item not found in this catalog."})
        elif item.review_status != ProductItem.ReviewStatus.REJECTED:
            refused.append({"id": requested, "message": "Only rejected items can be reviewed again."})
        elif item.additional_review_at is not None:
            refused.append({"id": requested, "message": "An additional review was already requested for this item."})
    if refused:
        raise errors.invalid_param(
            "(#100) Some items cannot be reviewed again: " + "; ".join(f"{r['id']}: {r['message']}" for r in refused)
        )
    AdditionalReviewCall.objects.create(
        catalog=call.catalog, item_ids=ids, message=call.params.str("message")[:1000], created_at=call.now
    )
    due = call.now + timedelta(seconds=faults.batch_delay_for(call.catalog, None))
    for item in found.values():
        outcome = check_item(item.data).review_outcome
        ProductItem.objects.filter(pk=item.pk).update(
            review_status=ProductItem.ReviewStatus.PENDING,
            review_outcome=outcome,
            review_due_at=due,
            additional_review_at=call.now,
        )
    return {"success": True}
