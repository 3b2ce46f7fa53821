"""Smoke."""

from tests.search.conftest import SearchDb


def test_smoke(db: SearchDb) -> None:
    a = db.add("coffee and tea", bodies=["what a beautiful day"])
    b = db.add("coffee only")
    assert db.ids('subject:"coffee tea"') == {a}
    assert db.ids("subject:coffee") == {a, b}
    assert db.ids('body:"what a beautiful day"') == {a}
    print(db.explain('body:"what a beautiful day"'))
    print(db.ranked("coffee"))
