"""Product feeds, upload sessions and upload errors."""

from __future__ import annotations

from ...models import FeedUpload, FeedUploadError, ProductFeed, ProductItem
from .. import feeds
from ..paging import paginate
from ..router import Call, route
from ..serializers import feed_node, select_dict, upload_error_node, upload_node
from .items import list_products

PRIORITIES = ("HIGH", "MEDIUM", "LOW")


@route("catalog", "product_feeds", "GET")
def product_feeds(call: Call) -> dict:
    catalog_feeds = ProductFeed.objects.filter(catalog=call.node)
    return paginate(call.request, call.params, catalog_feeds, lambda feed: feed_node(feed, call.selection))


@route("catalog", "product_feeds", "POST")
def create_product_feed(call: Call) -> dict:
    return {"id": feeds.create_feed(call.node, call.params).fbid}


@route("feed", "", "GET")
def product_feed(call: Call) -> dict:
    return feed_node(call.node, call.selection)


@route("feed", "", "POST")
def update_product_feed(call: Call) -> dict:
    feeds.apply_feed_params(call.node, call.params)
    call.node.save()
    return {"success": True}


@route("feed", "", "DELETE")
def delete_product_feed(call: Call) -> dict:
    call.node.delete()
    return {"success": True}


@route("feed", "uploads", "GET")
def uploads(call: Call) -> dict:
    sessions = FeedUpload.objects.filter(feed=call.node)
    return paginate(
        call.request, call.params, sessions, lambda upload: upload_node(upload, call.selection), newest_first=True
    )


@route("feed", "uploads", "POST")
def create_upload(call: Call) -> dict:
    return {"id": feeds.create_upload(call.node, call.params, call.caller.token, call.now).fbid}


@route("feed", "products", "GET")
def feed_products(call: Call) -> dict:
    return list_products(call, ProductItem.objects.filter(catalog=call.catalog, feed=call.node))


@route("upload", "", "GET")
def upload(call: Call) -> dict:
    return upload_node(call.node, call.selection)


@route("upload", "errors", "GET")
def upload_errors(call: Call) -> dict:
    found = FeedUploadError.objects.filter(upload=call.node)
    if priority := call.params.enum("error_priority", PRIORITIES):
        found = found.filter(error_priority=priority)
    return paginate(call.request, call.params, found, lambda error: upload_error_node(error, call.selection))


@route("upload_error", "", "GET")
def upload_error(call: Call) -> dict:
    return upload_error_node(call.node, call.selection)


@route("upload_error", "samples", "GET")
def upload_error_samples(call: Call) -> dict:
    error = call.node
    samples = [
        {"id": f"{error.fbid}{index:03d}", "retailer_id": sample["retailer_id"], "row_number": sample["row_number"]}
        for index, sample in enumerate(error.samples)
    ]
    return {"data": [select_dict(sample, call.selection) for sample in samples]}
