"""The one way the CLI prints a table: ids never cut, long tables say what they left out.

A terminal 80 columns wide (or output piped, which rich lays out at 80) cannot hold every
column of every table. The rule here, for every table of the CLI:

1. an id column (``Col(..., id=True)``) is never cut, wrapped or folded: it is the value a
   user copies into the next command;
2. the other columns wrap their text first;
3. when the table still does not fit, columns are dropped from the least important
   (highest ``drop`` rank) on, and a line under the table names them and says ``--wide``
   (or ``--json``) shows them; when even the columns that are never dropped do not fit,
   each row is printed as a block of ``header: value`` lines;
4. with ``wide`` the table takes the width it needs;
5. a table given more rows than ``limit`` shows ``limit`` and ends with "N more (use
   --limit N / --json)".

Examples
--------
>>> import io
>>> from rich.console import Console
>>> out = Console(width=40, file=io.StringIO())
>>> cols = [Col("ONT", id=True), Col("km", justify="right"), Col("note", drop=1)]
>>> print_table(out, "t", cols, [["ONT-VERY-LONG-IDENTIFIER-0001", "1.20", "x" * 30]])
>>> for line in out.file.getvalue().splitlines():
...     print(line.rstrip())
t
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┓
┃ ONT                           ┃   km ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━┩
│ ONT-VERY-LONG-IDENTIFIER-0001 │ 1.20 │
└───────────────────────────────┴──────┘
(columns left out at 40 characters: note; --wide or --json shows them)
>>> sorted(["1/1/10", "1/1/2", "1/2/1"], key=natural_key)
['1/1/2', '1/1/10', '1/2/1']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key ordering numbers inside ids by value: ``1/1/2`` before ``1/1/10``."""
    return tuple(int(part) if part.isdigit() else part.lower()
                 for part in _DIGITS.split(text))


@dataclass(frozen=True)
class Col:
    """A column: header, alignment, whether it holds ids, whether its text may wrap, and how
    soon it may be dropped.

    A cell of a column without ``wrap`` (a number, ``1.20 / 3.40``, a verdict) is never
    broken; ``wrap`` lets words of a text (names, lists, reasons) go to the next line. ``drop``
    0 (the default) is never dropped; higher ranks go first when the table is too wide.
    """

    header: str
    justify: str = "left"
    id: bool = False
    drop: int = 0
    wrap: bool = False


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text.from_markup(value) if isinstance(value, str) and "[/" in value \
        else Text("" if value is None else str(value))


def _min_width(col: Col, rows: Sequence[Sequence[Any]], index: int) -> int:
    """The narrowest a column may be: its longest cell and its header (their longest word
    when the column wraps: rich keeps a column that does not wrap, header included, on one
    line)."""
    cells = [_cell(r[index]).plain for r in rows]
    if col.wrap:
        return max([1, *(len(w) for c in [col.header, *cells] for w in c.split())])
    return max([1, len(col.header), *(len(c) for c in cells)])


def print_table(console: Console, title: str | None, columns: Sequence[Col],
                rows: Sequence[Sequence[Any]], *, wide: bool = False, limit: int | None = None,
                total: int | None = None, more_hint: str = "--limit N / --json") -> None:
    """Print ``rows`` under ``columns`` by the rules of this module.

    Parameters
    ----------
    console : Console
        Where to print.
    title : str or None
        The table's title.
    columns : sequence of Col
        The columns, in order.
    rows : sequence of sequences
        The cells (str with rich markup, Text, numbers or None).
    wide : bool
        Take the width the table needs (``--wide``).
    limit : int, optional
        Show at most this many rows.
    total : int, optional
        The rows there are in all, when ``rows`` is already cut (default ``len(rows)``).
    more_hint : str
        The options that show the rest.
    """
    total = len(rows) if total is None else total
    shown = list(rows if limit is None else rows[:limit])
    keep = list(range(len(columns)))
    width = console.width
    dropped: list[str] = []
    widths = [_min_width(c, shown, i) for i, c in enumerate(columns)]

    def needed(idx: list[int]) -> int:
        # borders and padding: 3 characters a column and 1 more, as rich draws them
        return sum(widths[i] + 3 for i in idx) + 1

    if not wide:
        for i in sorted((i for i, c in enumerate(columns) if c.drop),
                        key=lambda i: -columns[i].drop):
            if needed(keep) <= width:
                break
            keep.remove(i)
            dropped.append(columns[i].header)
        if needed(keep) > width:  # even the essential columns do not fit: one row a block
            _print_records(console, title, columns, shown)
            _print_more(console, total, len(shown), more_hint)
            return
    if title:  # above the table at the terminal's width, not wrapped to the table's
        console.print(title, highlight=False, markup=False)
    table = Table()
    for i in keep:
        col = columns[i]
        # a cell is never cut inside a word (a number, an id); text wraps between words
        table.add_column(col.header, justify=col.justify,  # type: ignore[arg-type]
                         no_wrap=not col.wrap, overflow="fold", min_width=widths[i])
    for row in shown:
        table.add_row(*(_cell(row[i]) for i in keep))
    if wide:
        natural = sum(max([len(columns[i].header), *(len(_cell(r[i]).plain) for r in shown)])
                      + 3 for i in keep) + 1
        console.width = max(width, natural)  # rich prints no wider than its console
        try:
            console.print(table, crop=False)
        finally:
            console.width = width
    else:
        console.print(table)
    if dropped:
        console.print(f"(columns left out at {width} characters: {', '.join(dropped)}; "
                      "--wide or --json shows them)", highlight=False, soft_wrap=True)
    _print_more(console, total, len(shown), more_hint)


def _print_records(console: Console, title: str | None, columns: Sequence[Col],
                   rows: Sequence[Sequence[Any]]) -> None:
    """Rows as blocks of ``header: value`` lines, for a terminal too narrow for a table."""
    if title:
        console.print(title, highlight=False, soft_wrap=True)
    label = max(len(c.header) for c in columns)
    for row in rows:
        console.print()
        for col, value in zip(columns, row, strict=True):
            text = Text(f"{col.header:>{label}}: ")
            text.append_text(_cell(value))
            console.print(text, soft_wrap=True, highlight=False)


def _print_more(console: Console, total: int, shown: int, hint: str) -> None:
    if total > shown:
        console.print(f"{total - shown:,} more (use {hint})", highlight=False)
