"""What a person types into "Search transcripts", turned into a full-text query for each database.

The input is never passed through as query syntax: it is split into words (letters and digits),
so no input can be a syntax error. Quoted parts are phrases (the words in that order); other words
must all appear, each as a prefix once it has ``MIN_PREFIX`` characters (``amer`` finds
"Americans"; ``a`` is only the word "a"). Both dialects get the same meaning: an FTS5 MATCH
expression for SQLite, a ``to_tsquery`` string for PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED = re.compile(r'"([^"]*)"?')
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits; "_" separates, as in both indexes
MAX_TERMS = 16
"""More terms than this are ignored (a pasted paragraph is not a sensible query)."""
MIN_PREFIX = 3
"""Shorter words match only themselves: "a" as a prefix would match a good share of the language."""


@dataclass(frozen=True)
class Term:
    """One condition: a single word (a prefix once it is long enough) or a phrase (exact words in order)."""

    words: tuple[str, ...]
    phrase: bool = False

    @property
    def prefix(self) -> bool:
        return not self.phrase and len(self.words[0]) >= MIN_PREFIX


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every term must match the same segment."""

    terms: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        return not self.terms

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression: ``"new jersey" AND "amer"*`` (a quoted string is a phrase)."""
        parts = []
        for term in self.terms:
            quoted = '"' + " ".join(term.words) + '"'
            parts.append(f"{quoted}*" if term.prefix else quoted)
        return " AND ".join(parts)

    def tsquery(self) -> str:
        """The PostgreSQL ``to_tsquery`` text: ``'new' <-> 'jersey'`` for phrases, ``'amer':*`` for words."""
        parts = []
        for term in self.terms:
            if term.phrase:
                parts.append("(" + " <-> ".join(f"'{w}'" for w in term.words) + ")")
            else:
                parts.append(f"'{term.words[0]}'" + (":*" if term.prefix else ""))
        return " & ".join(parts)


def parse(text: str) -> SearchQuery:
    """Split ``text`` into phrases (in double quotes) and single words, lower-cased.

    A quoted part with one word is that word, matched exactly; an unclosed quote runs to the end.
    """
    terms: list[Term] = []
    rest = []
    position = 0
    for match in _QUOTED.finditer(text or ""):
        rest.append(text[position : match.start()])
        position = match.end()
        words = tuple(w.lower() for w in _WORD.findall(match.group(1)))
        if words:
            terms.append(Term(words, phrase=True))
    rest.append((text or "")[position:])
    for word in _WORD.findall(" ".join(rest)):
        terms.append(Term((word.lower(),)))
    return SearchQuery(tuple(dict.fromkeys(terms))[:MAX_TERMS])
