"""manage.py rotate_cryptography_key: reseal every encrypted field value under CRYPTOGRAPHY_KEY.

The rotation, without a moment where a stored token cannot be read:

1. Deploy with the new key in ``CRYPTOGRAPHY_KEY`` and the old one in
   ``CRYPTOGRAPHY_OLD_KEYS`` (reads try the new key, then the old; writes use the new).
2. Run this command (``--dry-run`` counts first). It is idempotent: run it again after a
   failure, or to check that nothing is left (``0 rewritten``).
3. Remove the old key from ``CRYPTOGRAPHY_OLD_KEYS`` and deploy.

Values written before galantis/fieldcrypto.py are authenticated with SECRET_KEY; this
command also reseals those, after which SECRET_KEY can rotate on its own.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from galantis import fieldcrypto


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field value with CRYPTOGRAPHY_KEY (old keys in CRYPTOGRAPHY_OLD_KEYS)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be rewritten; write nothing.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args, dry_run: bool, as_json: bool, **options):
        results = fieldcrypto.reseal_all(dry_run=dry_run)
        unreadable = sum(len(r.unreadable) for r in results)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": dry_run,
                        "fields": [
                            {"field": r.label, "values": r.values, "rewritten": r.rewritten, "unreadable": r.unreadable}
                            for r in results
                        ],
                    }
                )
            )
        else:
            verb = "would rewrite" if dry_run else "rewritten"
            for r in results:
                self.stdout.write(f"{r.label}: {r.values} values, {r.rewritten} {verb}")
                if r.unreadable and options["verbosity"] >= 1:
                    self.stdout.write(self.style.ERROR(f"  no configured key opens rows {r.unreadable[:20]}"))
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) could not be read with CRYPTOGRAPHY_KEY or CRYPTOGRAPHY_OLD_KEYS: "
                "add the key they were written with to CRYPTOGRAPHY_OLD_KEYS and run again."
            )
        if not as_json:
            done = "Every encrypted value is sealed under CRYPTOGRAPHY_KEY."
            if dry_run:
                done = "Nothing written (dry run)."
            self.stdout.write(self.style.SUCCESS(done))
