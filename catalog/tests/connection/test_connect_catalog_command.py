"""manage.py connect_catalog against the sandbox: token from a file or stdin, the three flows, bad input."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Catalog, MetaConnection, ReconciliationReport

from .conftest import item_for, seed_catalog, variant

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("connect_catalog", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def token_file(meta, tmp_path):
    path = tmp_path / "token.txt"
    path.write_text(meta["access_token"] + "\n")
    return str(path)


def test_token_from_a_file_is_checked_stored_and_never_printed(meta, shop, token_file):
    output = run("--tenant", "acme", "--token-file", token_file, "--business-id", meta["business_id"])
    assert meta["access_token"] not in output
    assert meta["catalog_id"] in output and "ONSITE_CHECKOUT" in output
    assert MetaConnection.objects.get(tenant=shop["tenant"]).token_status == "valid"


def test_token_from_stdin(meta, shop, monkeypatch):
    run("--tenant", "acme", "--token-file", "-", stdin=meta["access_token"], monkeypatch=monkeypatch)
    assert MetaConnection.objects.get(tenant=shop["tenant"]).business_id == meta["business_id"]


def test_import_without_yes_reports_and_writes_nothing(meta, shop, token_file):
    seed_catalog(meta, meta["catalog_id"], [item_for(variant(shop, "tee", "Red"), shop["store"])])
    output = run("--tenant", "acme", "--token-file", token_file, "--catalog", meta["catalog_id"], "--flow", "import")
    assert "1 matched" in output and "re-run with --yes" in output
    catalog = Catalog.objects.get(meta_catalog_id=meta["catalog_id"])
    assert catalog.sync_enabled is False
    assert ReconciliationReport.objects.get(catalog=catalog).state == "ready"


def test_import_with_yes_enables_sync_and_prints_json(meta, shop, token_file):
    output = run(
        "--tenant",
        "acme",
        "--token-file",
        token_file,
        "--catalog-id",
        meta["catalog_id"],
        "--flow",
        "import",
        "--yes",
        "--json",
    )
    result = json.loads(output)
    assert result["catalog"]["sync_enabled"] is True
    assert result["report"]["missing_in_meta"] == 6 and result["report"]["state"] == "applied"
    assert meta["access_token"] not in output


def test_create_flow(meta, shop, token_file):
    output = run("--tenant", "acme", "--token-file", token_file, "--flow", "create", "--create-name", "CLI catalog")
    assert "6 variants queued" in output
    assert Catalog.objects.get(store=shop["store"]).name == "CLI catalog"


def test_switching_needs_yes(meta, shop, token_file):
    run("--tenant", "acme", "--token-file", token_file, "--flow", "create", "--create-name", "First")
    with pytest.raises(CommandError, match="--yes"):
        run("--tenant", "acme", "--catalog", meta["catalog_id"], "--flow", "link")
    assert Catalog.objects.get(store=shop["store"]).name == "First"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nobody"], "Unknown tenant"),
        (["--tenant", "acme"], "No token stored"),
        (["--tenant", "acme", "--flow", "import"], "needs --catalog"),
        (["--tenant", "acme", "--token-file", "/nonexistent/token"], "Cannot read the token file"),
        (["--tenant", "acme", "--delete-unmatched"], "--delete-unmatched needs"),
    ],
)
def test_bad_input_is_one_line(shop, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_bad_token_is_refused_with_the_reason(meta, shop, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EAA" + "q" * 50)
    with pytest.raises(CommandError, match="rejects|revoked|invalid"):
        run("--tenant", "acme", "--token-file", str(path), "--business-id", meta["business_id"])
