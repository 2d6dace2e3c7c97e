"""The vectorised back-end: a ruleset's expressions as column operations over a whole batch.

The row engine (engine/compiler.py, engine/expressions.py + engine/interpreter.py) evaluates one case at a time
through a closure tree. Here the same ruleset is compiled a second time, into closures that
take a *context* (a ruleset, an evaluation date per row, a set of rows) and return a `Vec`:
one numpy column for the whole batch, never a Python object per row.

Exact values, no float:

- money, decimals and percents are int64 columns in a fixed decimal scale per column
  (`value = data / 10**scale`): 21 000,00 € is 2100000 at scale 2, 7,5 % is 75 at scale 3;
  additions align scales, products add them, `round … to cent|euro|unit` is integer
  arithmetic with the row engine's modes (half-up away from zero, ceiling, floor);
- dates are int64 days since 1970-01-01; enum members and texts are codes of one interning
  table; booleans are numpy booleans;
- a list is a length per row and a column per position, a record a column per field, a map
  input a presence mask and a value column per key (lists.py): payment calendars, offered
  options and failed requirements are computed for the whole batch, and written as JSON text
  by Arrow's string kernels, byte for byte what the row engine writes.

Every column carries three row masks besides its data, which reproduce the row engine's
lazy semantics without evaluating lazily:

- `none`: the value is `none` (a missing optional input, `none` written in a rule);
- `ne`: the value is *not established*; `why` holds each such row's reason (a code of a table
  of reasons), the first one met in the row engine's order of evaluation;
- `defer`: the row engine would do something this back-end does not reproduce on that row —
  raise an error (a missing value used, a table without that row, a division by zero), or
  compute something not vectorised (a division, a set computed per row, `sum`/`count`/`any`/
  `all` of a list, a value out of the int64 range or with a negative-zero Decimal sign).
  Deferring is always safe.

Branches are evaluated for all rows (or skipped when no row takes them), and each operator
combines its operands' masks exactly as the row engine's evaluation order would: `if` only
sees the errors of the branch a row takes, `and`/`or` stop at the first decisive operand
(Kleene logic), rule exceptions raise a conflict error when two apply, waivers lift a
requirement, strict operators propagate *not established* from their first operand that is.

`x as of D` splits the rows by the ruleset in force on each row's D, evaluates x for each
group under that ruleset with `on` = D, and scatters the values back. A ruleset consulted
through `as of` validates the case with its own schema (as the row engine does): rows its
schema rejects are deferred.

A row whose requested outputs have no `defer` takes the vectorised values (a not-established
output is written with its reason); every other row is evaluated again, alone, by the row engine
(`engine.batch.Batch.row`), so a batch result is always identical to the row engine's.
"""
from __future__ import annotations

from .columns import Vec
from .headings import Axis
from .outputs import cells, run_columns
from .run import Engine, Run, engine_for, supported_outputs

__all__ = ["Axis", "Engine", "Run", "Vec", "cells", "engine_for", "run_columns", "supported_outputs"]

# The package, by concern (each module says more at its top):
#   columns.py   `Vec`, the masks' algebra, constants at a fixed scale, merging branches
#   calendar.py  the calendar in integer arithmetic over columns of days
#   headings.py  where each key falls among a table's headings (`Axis`)
#   compiler.py  expressions compiled into closures over columns
#   functions.py the language's built-in functions (dates, min, max, abs) on columns
#   lists.py     lists, records and maps in columns; comprehensions, flatten, failed
#   open.py      values not established, with their bounds and deciders, in columns
#   quotients.py division in columns where the quotient is exact (and ranges of such quotients)
#   objects.py   the row engine's own Python values, for 28-digit quotients (a run's second pass)
#   context.py   a ruleset on a subset of rows: rules, conditions, lookups, `as of`
#   inputs.py    input columns converted and validated as the case schema would
#   json_cells.py  a map input's JSON cells in canonical form read by Arrow's string kernels
#   run.py       the engine of a registry and one run over a batch
#   outputs.py   output columns as the row engine's JSON-form cells
#   typed_columns.py  output columns as typed Arrow arrays (engine/typed.py), without JSON form
