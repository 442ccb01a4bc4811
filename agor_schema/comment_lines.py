"""Is a YAML text another one with only comment lines and blank lines added or removed?

`check` meets a schema file that differs from the one compile read. Most such edits add or
remove a comment; telling that from the text alone spares importing and running the YAML
parser. The answer must never be "yes" when the data could differ, so the rule is narrow:

- lines are compared after the newline normalisation the loader applies (CRLF, CR -> LF);
- the new text may drop lines of the old one that are blank or only a comment (spaces, then
  optionally `#` and the comment), and may add such lines (printable text only, no tab:
  libyaml refuses a tab before a comment at the start of a block line), and nothing else;
- neither may happen inside or right after a scalar written over several lines (a block
  scalar `|`/`>`, a quoted or plain scalar that continues on the next line), where such a
  line is text of the value (or, after a `|+` block, its trailing newline). Those lines come
  from the loader, which records them when it parses a file.

Outside scalars YAML treats comment lines and blank lines as nothing: the tokens, their
columns and whether tokens share a line stay the same, so the data is the same. Every other
difference (a trailing comment, quoting, indentation, a byte order mark) answers "no", and
`check` then parses the file as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_FILLER = re.compile(r" *(?:#.*)?")  # a blank line or a comment line (fullmatch)


def normalised_lines(raw: bytes) -> list[str] | None:
    """The file's lines as the loader sees them, or None when it is not plain UTF-8 text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\ufeff" in text:  # a byte order mark: leave it to the parser
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def only_comment_lines_differ(old: list[str], new: list[str],
                              scalar_lines: Iterable[tuple[int, int]]) -> bool:
    """Whether `new` is `old` with comment/blank lines added or removed outside the
    multi-line scalars of `old` (`scalar_lines`: their first and last line, 0-based)."""
    guarded: set[int] = set()  # old lines no comment/blank line may be put before or dropped
    for first, last in scalar_lines:
        guarded.update(range(first + 1, last + 2))
    i = j = 0
    n_old, n_new = len(old), len(new)
    while i < n_old or j < n_new:
        if i < n_old and j < n_new and old[i] == new[j]:
            i += 1
            j += 1
        elif i < n_old and i not in guarded and i + 1 not in guarded and _filler(old[i]):
            i += 1  # a comment/blank line removed
        elif j < n_new and i not in guarded and _filler(new[j]) and new[j].isprintable():
            j += 1  # a comment/blank line added before old line i
        else:
            return False
    return True


def _filler(line: str) -> bool:
    return _FILLER.fullmatch(line) is not None
