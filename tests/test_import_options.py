"""The one parser of an import's options, shared by the CLI and the Import page."""

from __future__ import annotations

import pytest

from cimic_geo.errors import ValidationError
from cimic_geo.ingest.options import parse_defaults, parse_json_object, parse_value_maps


def test_defaults_from_the_cli_and_from_the_page_agree():
    cli = parse_defaults(["status=open", " capacity = 0 "], field="--default")
    page = parse_defaults("status=open, capacity = 0")
    assert cli == page == {"status": "open", "capacity": "0"}
    assert parse_defaults(["notes=a, b"], field="--default") == {"notes": "a, b"}  # one CLI item may hold commas
    assert parse_defaults(None) == {} and parse_defaults(" , ") == {}
    with pytest.raises(ValidationError) as exc:
        parse_defaults(["status"], field="--default")
    assert str(exc.value).startswith("--default takes FIELD=VALUE")
    assert exc.value.problems[0].field == "--default" and "'status'" in exc.value.problems[0].message


@pytest.mark.parametrize(("text", "field", "message"), [
    ("{not json", "--values", "--values is not valid JSON"),
    ("[1]", "--mapping", "--mapping must be a JSON object"),
    ('{"status": "open"}', "--values.status", "value maps must be {field: {source label: value}}"),
])
def test_json_options_name_the_option(text, field, message):
    parse = parse_value_maps if field.startswith("--values") or message.startswith("value maps") else parse_json_object
    with pytest.raises(ValidationError) as exc:
        parse(text, field=field.split(".")[0])
    assert str(exc.value).startswith(message) and exc.value.problems[0].field == field


def test_value_maps():
    assert parse_value_maps('{"status": {"successful": "closed"}}') == {"status": {"successful": "closed"}}
    assert parse_value_maps("") == {} and parse_json_object(None, field="--mapping") == {}
