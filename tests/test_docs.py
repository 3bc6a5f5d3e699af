"""The README's configuration table documents every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from service.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_row_in_the_configuration_table():
    table = README[README.index("## Configuration") :]
    table = table[: table.index("\n## ", 1)]
    missing = [f"UNSPIN_{name.upper()}" for name in Settings.model_fields if f"`UNSPIN_{name.upper()}`" not in table]
    assert not missing, f"settings without a README row: {missing}"
    for name, field in Settings.model_fields.items():
        assert field.description, f"UNSPIN_{name.upper()} has no description in service/config.py"
