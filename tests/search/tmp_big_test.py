import time
from sqlalchemy import select
from tidings.db.tables import conversations
from tests.search.conftest import SearchDb, NOW
from tidings.search import parse_query, compile_query


def test_big(db: SearchDb) -> None:
    db.add("a b c")
    for q in [
        "a " * 1000,
        " OR ".join(["tag:x"] * 222),
        " OR ".join(["a"] * 399),
        "NOT a " * 333,
        "(" * 32 + "a" + ")" * 32,
        " ".join(f"number:{i}" for i in range(180)),
    ]:
        t = time.time()
        c = compile_query(parse_query(q), dialect=db.dialect, now=NOW)
        try:
            with db.conn.begin_nested():
                db.conn.execute(
                    select(conversations.c.id, *([c.score] if c.score is not None else [])).where(c.condition)
                ).fetchall()
            print(db.dialect, len(q), "ok", round(time.time() - t, 3))
        except Exception as e:
            print(db.dialect, len(q), "ERR", str(e)[:200])
