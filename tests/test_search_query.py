"""What a person types into "Search transcripts", as FTS5 and tsquery text (pure; hand-written input)."""

from __future__ import annotations

from services.store.search_query import MAX_TERMS, Term, parse


def test_words_phrases_and_prefixes() -> None:
    query = parse('New  "ask NOT what," is   Jersey\'s')
    assert query.terms == (
        Term(("ask", "not", "what"), phrase=True),
        Term(("new",)),
        Term(("is",)),
        Term(("jersey",)),
        Term(("s",)),
    )
    assert query.fts5() == '"ask not what" AND "new"* AND "is" AND "jersey"* AND "s"'
    assert query.tsquery() == "('ask' <-> 'not' <-> 'what') & 'new':* & 'is' & 'jersey':* & 's'"


def test_nothing_from_the_input_reaches_the_query_syntax() -> None:
    for text in ['"', '""', "*", "-", "()", "\x00", "   ", "_", "'; --"]:
        assert parse(text).empty, text
    assert parse("'; DROP TABLE tasks; --").fts5() == '"drop"* AND "table"* AND "tasks"*'
    query = parse("NEAR(a b) OR c* -d:e 'f'")
    assert [t.words[0] for t in query.terms] == ["near", "a", "b", "or", "c", "d", "e", "f"]
    assert all(ch.isalnum() or ch in ' "*' for ch in query.fts5().replace(" AND ", " "))


def test_an_unclosed_quote_runs_to_the_end_and_duplicates_and_excess_go() -> None:
    assert parse('budget "next year').terms == (Term(("next", "year"), phrase=True), Term(("budget",)))
    assert parse("ja ja JA").terms == (Term(("ja",)),)
    assert len(parse(" ".join(f"w{i}" for i in range(40))).terms) == MAX_TERMS
    assert parse("Müller straße").terms == (Term(("müller",)), Term(("straße",)))
