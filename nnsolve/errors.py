"""The one error type of nnsolve: what was wrong, and where in which file."""
from __future__ import annotations

import unicodedata


def visible(text: str, keep_newlines: bool = False) -> str:
    """TEXT with every invisible or controlling character written as an escape: control
    characters (a newline, ESC of a terminal escape sequence) as \\n, \\x1b; format
    characters and unusual spaces (a zero-width space, a right-to-left mark, a no-break
    space) as \\u200b, … So a message stays on one line, a file cannot drive the terminal,
    and a key that differs only by an invisible character shows the difference."""
    text = str(text)
    if text.isprintable():  # no control, format, surrogate, unassigned or separator but ' '
        return text
    out = []
    for ch in text:
        if ch == " " or (keep_newlines and ch in "\n\t"):
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat[0] in "CZ" and cat != "Co":  # Cc, Cf, Cs, Cn; Zs (other than ' '), Zl, Zp
            code = ord(ch)
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch)
                       or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                           else f"\\U{code:08x}"))
        else:
            out.append(ch)
    return "".join(out)


def format_path(path) -> str:
    """('layers', 0, 'weights') -> 'layers[0].weights'."""
    out = ""
    for part in path or ():
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class InputError(Exception):
    """An input problem: exit status 2, one line naming file, line, column and key path."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, path=None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line  # 1-based
        self.column = column  # 1-based
        self.path = tuple(path) if path else ()

    def with_file(self, file: str) -> "InputError":
        if self.file is None:
            self.file = file
        return self

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = format_path(self.path)
        return visible(f"{where}: {key + ': ' if key else ''}{self.message}")
