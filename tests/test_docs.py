"""The README's configuration table and .env.example name every variable settings.py reads."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# env("X"), env.str("X", ...), env.bool("X"), env.db("X"), env.list("X") ...
ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_variables() -> set[str]:
    return set(ENV_READ.findall((BASE_DIR / "galantis" / "settings.py").read_text()))


def test_settings_read_variables_at_all():
    assert {"DEBUG", "SECRET_KEY", "CRYPTOGRAPHY_KEY", "DATABASE_URL", "REDIS_URL"} <= settings_variables()


def test_readme_configuration_table_lists_every_variable():
    readme = (BASE_DIR / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, re.MULTILINE))
    missing = settings_variables() - documented
    assert not missing, f"Add these to README.md's configuration table: {sorted(missing)}"


def test_env_example_lists_every_variable():
    example = (BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    missing = settings_variables() - listed
    assert not missing, f"Add these to .env.example: {sorted(missing)}"


def test_readme_starts_with_exactly_two_setup_commands():
    readme = (BASE_DIR / "README.md").read_text()
    setup = readme.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    block = setup.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]
