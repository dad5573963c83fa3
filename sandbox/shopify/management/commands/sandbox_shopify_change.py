"""Change a sandbox Shopify shop like a merchant would, so its webhooks fire (demo, tests, manual checks)."""

import json

from django.core.management.base import BaseCommand, CommandError

from sandbox.shopify import changes, ids, webhooks
from sandbox.shopify.models import Product, Shop, Variant, WebhookSubscription
from sandbox.shopify.topics import ENUM_FOR_HEADER


def _number(value: str, type_name: str) -> int:
    if value.isdigit():
        return int(value)
    parsed = ids.parse_gid(value)
    if parsed is None or parsed[0] != type_name:
        raise CommandError(f"Not a {type_name} id: {value}")
    return parsed[1]


class Command(BaseCommand):
    help = "Change products, prices, stock, orders or webhook behaviour of a sandbox shop; webhooks follow."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="Shop domain, e.g. sandbox-1a2b3c.myshopify.com")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the result as JSON")
        sub = parser.add_subparsers(dest="action", required=True)
        price = sub.add_parser("price", help="Set a variant's price (and compare-at price)")
        price.add_argument("--variant", required=True)
        price.add_argument("--price", required=True)
        price.add_argument("--compare-at", dest="compare_at")
        stock = sub.add_parser("inventory", help="Set a variant's available stock at the main location")
        stock.add_argument("--variant", required=True)
        stock.add_argument("--quantity", type=int, required=True)
        title = sub.add_parser("title", help="Retitle a product")
        title.add_argument("--product", required=True)
        title.add_argument("--title", required=True)
        status = sub.add_parser("status", help="Set a product's status")
        status.add_argument("--product", required=True)
        status.add_argument("--status", required=True, choices=Product.Status.values)
        for name in ("publish", "unpublish", "delete"):
            sub.add_parser(name, help=f"{name.title()} a product").add_argument("--product", required=True)
        create = sub.add_parser("create", help="Add generated products")
        create.add_argument("--count", type=int, default=1)
        order = sub.add_parser("order", help="Place a paid order (orders/create + orders/paid)")
        order.add_argument("--variant", required=True)
        order.add_argument("--quantity", type=int, default=1)
        order.add_argument("--email", default="buyer@example.com")
        sub.add_parser("uninstall", help="Uninstall the app (app/uninstalled; the token stops working)")
        rnd = sub.add_parser("random", help="Apply N varied changes")
        rnd.add_argument("--count", type=int, default=10)
        rnd.add_argument("--seed", type=int, default=0)
        sub.add_parser("deliver", help="Deliver held and due webhooks now")
        config = sub.add_parser("webhooks", help="Configure webhook delivery behaviour")
        config.add_argument("--mode", choices=Shop.WebhookMode.values)
        config.add_argument("--duplicates", type=int)
        config.add_argument("--shuffle", action="store_true", default=None)
        config.add_argument("--no-shuffle", dest="shuffle", action="store_false")
        subscribe = sub.add_parser("subscribe", help="Register a webhook subscription (like webhookSubscriptionCreate)")
        subscribe.add_argument("--topic", required=True, choices=sorted(ENUM_FOR_HEADER))
        subscribe.add_argument("--url", required=True)

    def handle(self, *args, shop: str, action: str, as_json: bool, **options):
        shop_obj = Shop.objects.filter(domain=shop).first()
        if shop_obj is None:
            raise CommandError(f"No sandbox shop {shop}")
        try:
            result = getattr(self, f"do_{action}")(shop_obj, **options)
        except changes.ChangeError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(self.style.SUCCESS(str(result)))

    def _variant(self, shop: Shop, value: str) -> Variant:
        variant = Variant.objects.filter(shop=shop, legacy_id=_number(value, "ProductVariant")).first()
        if variant is None:
            raise CommandError(f"No variant {value} in {shop}")
        return variant

    def _product(self, shop: Shop, value: str) -> Product:
        product = Product.objects.filter(shop=shop, legacy_id=_number(value, "Product")).first()
        if product is None:
            raise CommandError(f"No product {value} in {shop}")
        return product

    def do_price(self, shop, *, variant, price, compare_at, **_):
        target = self._variant(shop, variant)
        update = {"variant": target, "price": price}
        if compare_at is not None:
            update["compare_at_price"] = compare_at or None
        changes.update_variants(target.product, [update])
        return {"variant": target.legacy_id, "price": price}

    def do_inventory(self, shop, *, variant, quantity, **_):
        level = changes.set_inventory(self._variant(shop, variant), quantity)
        return {"variant": level.variant.legacy_id, "available": level.available}

    def do_title(self, shop, *, product, title, **_):
        return {"product": changes.update_product(self._product(shop, product), title=title).legacy_id}

    def do_status(self, shop, *, product, status, **_):
        return {"product": changes.update_product(self._product(shop, product), status=status).legacy_id}

    def do_publish(self, shop, *, product, **_):
        return {"product": changes.set_published(self._product(shop, product), True).legacy_id}

    def do_unpublish(self, shop, *, product, **_):
        return {"product": changes.set_published(self._product(shop, product), False).legacy_id}

    def do_delete(self, shop, *, product, **_):
        return {"deleted": changes.delete_product(self._product(shop, product))}

    def do_create(self, shop, *, count, **_):
        if count < 1:
            raise CommandError("--count must be at least 1")
        return {"created": [p.legacy_id for p in changes.create_products(shop, count)]}

    def do_order(self, shop, *, variant, quantity, email, **_):
        order = changes.create_order(shop, [(self._variant(shop, variant), quantity)], email=email)
        return {"order": order.legacy_id, "name": order.name, "total_price": f"{order.total_price:.2f}"}

    def do_uninstall(self, shop, **_):
        changes.uninstall_app(shop)
        return {"uninstalled": shop.domain}

    def do_random(self, shop, *, count, seed, **_):
        return {"changes": changes.random_changes(shop, count, seed=seed)}

    def do_deliver(self, shop, **_):
        return webhooks.flush(shop)

    def do_webhooks(self, shop, *, mode, duplicates, shuffle, **_):
        if mode is not None:
            shop.webhook_mode = mode
        if duplicates is not None:
            if duplicates < 0:
                raise CommandError("--duplicates must be zero or more")
            shop.webhook_duplicates = duplicates
        if shuffle is not None:
            shop.webhook_shuffle = shuffle
        shop.save(update_fields=["webhook_mode", "webhook_duplicates", "webhook_shuffle"])
        return {"mode": shop.webhook_mode, "duplicates": shop.webhook_duplicates, "shuffle": shop.webhook_shuffle}

    def do_subscribe(self, shop, *, topic, url, **_):
        from django.conf import settings

        subscription, _created = WebhookSubscription.objects.get_or_create(
            shop=shop,
            topic=ENUM_FOR_HEADER[topic],
            callback_url=url,
            defaults={
                "legacy_id": shop.new_legacy_id("WebhookSubscription"),
                "api_version": settings.SHOPIFY_API_VERSION,
            },
        )
        return {"subscription": subscription.gid, "topic": topic, "url": url}
