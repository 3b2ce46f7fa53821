"""PostgreSQL: each search document also holds its conversation's state and status as a lexeme

A list searches among the conversations of one state and some statuses (`active` by default).
The GIN index alone could not say which matches those are: every match's row was read back to
join it with `conversations` (`espresso` at 1M conversations: 12,804 rows read for the 863
active ones, and its page by relevance hashed the 58k active ids against them). With
`tidings:<state>:<status>` in the document, the index intersects the text's entries with the
status's (`tidings.search.index.listing_lexeme`). No text can produce that lexeme: PostgreSQL's
parser splits words at `:`. The trigger keeps it when a conversation's state or status changes;
documents written later get it from their conversation when they are written.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

LEXEME = "'tidings:' || {row}.state || ':' || {row}.status"

POSTGRES_TRIGGER = [
    f"""CREATE FUNCTION conversation_search_listed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE conversation_search
        SET document = ts_delete(document, {LEXEME.format(row="OLD")})
            || array_to_tsvector(ARRAY[{LEXEME.format(row="NEW")}])
        WHERE conversation_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER conversation_search_listed AFTER UPDATE OF state, status ON conversations
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION conversation_search_listed()""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in POSTGRES_TRIGGER:
        op.execute(statement)
    op.execute(
        "UPDATE conversation_search s "
        f"SET document = s.document || array_to_tsvector(ARRAY[{LEXEME.format(row='c')}]) "
        "FROM conversations c WHERE c.id = s.conversation_id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS conversation_search_listed ON conversations")
    op.execute("DROP FUNCTION IF EXISTS conversation_search_listed()")
    op.execute(
        "UPDATE conversation_search SET document = ts_delete(document, ARRAY(SELECT lexeme FROM unnest(document) WHERE lexeme LIKE 'tidings:%'))"
    )
