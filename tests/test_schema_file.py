from pathlib import Path

from schema.root import schema


def test_schema_graphql_is_what_the_server_serves():
    committed = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip(), (
        "schema.graphql is out of date: run `make schema`"
    )
