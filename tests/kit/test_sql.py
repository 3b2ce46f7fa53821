"""SQL constructs of `kit.sql`: the same rows on both databases, whatever each is written as."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, bindparam, select

from tidings.db.tables import tags
from tidings.kit.sql import EachValueBetween


@pytest.mark.parametrize(("low", "high"), [(3, 7), (5, 5), (8, 4), (-3, 2), (18, 40)])
def test_each_value_between_matches_the_range(conn: Connection, low: int, high: int) -> None:
    ids = list(conn.execute(select(tags.c.id).order_by(tags.c.id)).scalars())
    first = ids[0]
    statement = (
        select(tags.c.id)
        .where(EachValueBetween(tags.c.id, bindparam("low"), bindparam("high")))
        .order_by(tags.c.id)
    )
    found = list(conn.execute(statement, {"low": first + low, "high": first + high}).scalars())
    assert found == [i for i in ids if first + low <= i <= first + high]
    literal_bounds = select(tags.c.id).where(EachValueBetween(tags.c.id, first + low, first + high))
    assert sorted(conn.execute(literal_bounds).scalars()) == found
