"""What DuckDB and PostgreSQL write differently, in one place.

Queries are written once, in SQL both engines accept (`DISTINCT ON`, `FILTER`, windows,
`DOUBLE PRECISION`, quoted mixed-case aliases), with `?` positional or `$name` named
parameters. The few constructs that differ go through a `Dialect`: the latest value of a
series (DuckDB's `arg_max` is much faster than the portable array form), NaN, temporary
tables, and the parameter style the driver expects.
"""

from __future__ import annotations

import re

# Single-quoted SQL literals: parameters are never rewritten inside them.
_LITERAL = re.compile(r"('(?:[^']|'')*')")
_NAMED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class Dialect:
    name = ""
    double = "DOUBLE PRECISION"

    def sql(self, text: str, params: bool = True) -> str:
        """The query as the driver expects it (parameter style)."""
        return text

    def latest(self, value: str, order: str, where: str) -> str:
        """`value` of the row with the greatest `order` among those matching `where`."""
        raise NotImplementedError

    def any_value(self, expr: str) -> str:
        raise NotImplementedError

    def is_nan(self, expr: str) -> str:
        raise NotImplementedError

    def temp_table(self, name: str, select: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {name}", f"CREATE TEMP TABLE {name} AS {select}"]

    def binary(self, column: str) -> str:
        """A text column compared byte by byte (DuckDB's default order; PostgreSQL's depends
        on the database's collation): exports list rows in the same order on both."""
        return column


class DuckDialect(Dialect):
    name = "duckdb"

    def latest(self, value: str, order: str, where: str) -> str:
        return f"arg_max({value}, {order}) FILTER (WHERE {where})"

    def any_value(self, expr: str) -> str:
        return f"any_value({expr})"

    def is_nan(self, expr: str) -> str:
        return f"isnan({expr})"


class PostgresDialect(Dialect):
    name = "postgresql"

    def sql(self, text: str, params: bool = True) -> str:
        """`?` -> `%s`, `$name` -> `%(name)s` and `%` -> `%%` (psycopg's format style) when
        the query has parameters, never inside single-quoted literals' placeholders."""
        if not params:
            return text
        parts = _LITERAL.split(text)
        for i in range(0, len(parts), 2):
            part = parts[i].replace("%", "%%").replace("?", "%s")
            parts[i] = _NAMED.sub(r"%(\1)s", part)
        for i in range(1, len(parts), 2):
            parts[i] = parts[i].replace("%", "%%")
        return "".join(parts)

    def latest(self, value: str, order: str, where: str) -> str:
        return f"(array_agg({value} ORDER BY {order} DESC) FILTER (WHERE {where}))[1]"

    def any_value(self, expr: str) -> str:
        return f"min({expr})"  # PostgreSQL 15 has no any_value

    def is_nan(self, expr: str) -> str:
        return f"({expr} = 'NaN'::float8)"

    def binary(self, column: str) -> str:
        return f'{column} COLLATE "C"'


DUCKDB = DuckDialect()
POSTGRES = PostgresDialect()
