import time
from sqlalchemy import select
from tidings.db.tables import conversations
from tests.search.conftest import SearchDb, NOW
from tidings.search import parse_query, compile_query


def test_big(db: SearchDb) -> None:
    db.add("a b c")
    words = " ".join(f"w{i}" for i in range(500))[:2000]
    for q in [
        "a " * 1000,
        words,
        " OR ".join(["tag:x"] * 222),
        " OR ".join(["a"] * 399),
        "NOT a " * 333,
        " ".join(f"number:{i}" for i in range(180)),
        "-a " * 666,
        "a* " * 666,
        " OR ".join(['"a b"'] * 250),
    ]:
        t = time.time()
        c = compile_query(parse_query(q), dialect=db.dialect, now=NOW)
        stmt = select(conversations.c.id, *([c.score] if c.score is not None else [])).where(c.condition)
        sql = str(stmt.compile(dialect=db.conn.dialect))
        t1 = time.time()
        try:
            with db.conn.begin_nested():
                db.conn.execute(stmt).fetchall()
            print(db.dialect, len(q), "ok", round(t1 - t, 3), round(time.time() - t1, 3))
        except Exception as e:
            print(db.dialect, len(q), "ERR", str(e)[:200])
