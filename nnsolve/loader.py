"""Reading a problem file safely, keeping where every key and value stands.

The YAML is read as a stream of parser events (PyYAML's C parser where it is built in)
and the tree is built here, iteratively: no tag ever builds a Python object, nesting depth
and the number of nodes are bounded (so an alias bomb or ``[[[[…`` cannot hang or crash
it), and every mapping key and sequence item keeps its line and column for messages.

Every failure is an InputError with a line and column: a YAML syntax error, a byte that is
not UTF-8, a control character, a NUL byte (binary), UTF-16/32 text, a standard tag with
the wrong content (``!!float x``). Numbers are decimal: what YAML 1.1 reads as a number in
another base (0x10, 1:30, 1_000) stays text, for the number reader (nnsolve.schema) to
refuse with the reason. Keys are kept as written (``true:`` is the key 'true'); merge keys
(``<<: *base``) are supported. Lists of numbers on one line are read at once (see below), so
a 1000 × 1000 matrix loads in about a second. Only a regular file is read (a named pipe would
block); ``-`` is standard input.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import yaml

from .errors import InputError

MAX_BYTES = 5_000_000
MAX_DEPTH = 64
MAX_NODES = 250_000  # parser events (a list of numbers read at once is one)
MAX_ALIAS_EXPANSION = 100_000

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map", "!",
}


@dataclass
class Located:
    """A problem file's data plus where each part of it stands."""
    data: object
    file: str
    marks: dict  # path tuple -> (line, column), 1-based, of the key (or the item)
    # path of a list of numbers read at once -> (line, column of its '[', its text); the
    # position of an item is worked out only when a message needs it
    spans: dict = field(default_factory=dict)

    def where(self, path) -> tuple[int | None, int | None]:
        path = tuple(path)
        while True:
            if path in self.marks:
                return self.marks[path]
            if path and isinstance(path[-1], int) and path[:-1] in self.spans:
                return _item_position(self.spans[path[:-1]], path[-1])
            if not path:
                return (None, None)
            path = path[:-1]

    def error(self, path, message: str) -> InputError:
        line, col = self.where(path)
        return InputError(message, file=self.file, line=line, column=col, path=path)


def _item_position(span, index: int) -> tuple[int, int]:
    """(line, column) of item INDEX of a one-line list of numbers read at once."""
    line, col, text = span
    pos = 1
    for _ in range(index):
        pos = text.index(",", pos) + 1
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return line, col + pos


# -- lists of numbers, read at once ----------------------------------------------------------
#
# A matrix of a thousand rows is a million numbers: one parser event each would take seconds.
# So a one-line flow list of plain decimal numbers ([0.1, -2, 3e-4]) standing where a value
# starts (after ": ", "- ", "[" or ",") is read here at once and handed to the parser as one
# placeholder scalar of the same length (columns and lines stay where they were). A
# placeholder that ends up inside a quoted text, a comment or a longer plain scalar is put
# back as the text it stood for.

_NUM = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUMBER_LIST = re.compile(r"(?:^|(?<=[\[,])|(?<=[:\-] )|(?<=[:\-]\t))[ \t]*"
                          r"(\[[ \t]*" + _NUM + r"(?:[ \t]*,[ \t]*" + _NUM + r")*[ \t]*,?[ \t]*\])", re.M)
_PLACEHOLDER = re.compile("(\ue000[\ue100-\uf8ff]{2})( *)")
_MIN_LIST = 3  # characters: "[1]" (a placeholder takes three)
_DIGITS = 0xF900 - 0xE100


def _key(i: int) -> str:
    """The placeholder of list I: U+E000 and two private-use characters (38 million ids)."""
    return "\ue000" + chr(0xE100 + i // _DIGITS) + chr(0xE100 + i % _DIGITS)


class _Keys:
    """`v in _KEYS`: is V shaped like a placeholder."""
    def __contains__(self, v) -> bool:
        return len(v) == 3 and v[0] == "\ue000"


_KEYS = _Keys()


def _numbers(text: str) -> list:
    items = text[1:-1].split(",")
    if not items[-1].strip():
        items.pop()
    # the list's form was checked (_NUMBER_LIST): each item is a decimal number
    return [float(x) if ("." in x or "e" in x or "E" in x) else int(x) for x in items]


def _take_number_lists(text: str):
    """TEXT with its lists of numbers replaced by placeholders, and {offset: (list text,
    placeholder)} of them."""
    found = {}
    parts = []
    last = 0
    for m in _NUMBER_LIST.finditer(text):
        start, end = m.span(1)
        if end - start < _MIN_LIST or len(found) >= _DIGITS * _DIGITS:
            continue
        key = _key(len(found))
        found[start] = (text[start:end], key)
        parts.append(text[last:start])
        parts.append(key + " " * (end - start - len(key)))
        last = end
    if not found:
        return text, found
    parts.append(text[last:])
    return "".join(parts), found


def _put_back(value: str, by_id: dict) -> str:
    """A text that swallowed placeholders, with the lists' own text put back."""
    def back(m):
        k = m.group(1)
        got = by_id.get((ord(k[1]) - 0xE100) * _DIGITS + ord(k[2]) - 0xE100)
        if got is None:
            return m.group(0)
        text, pad = got
        return text + m.group(2)[pad:]
    return _PLACEHOLDER.sub(back, value)


class _Resolver(yaml.resolver.Resolver):
    pass


_resolver = _Resolver()


_PLAIN_INT = re.compile(r"[-+]?[0-9]+\Z")  # 012 is twelve, not YAML 1.1 octal
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z|[-+]?[0-9]+[eE][-+]?[0-9]+\Z")


_Y = "tag:yaml.org,2002:"
_INF_NAN = re.compile(r"[-+]?\.(inf|Inf|INF)\Z|\.(nan|NaN|NAN)\Z")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}
MERGE = object()  # the YAML merge key << (as a mapping key, before its value is known)


def decimal_number(text: str, whole: bool = False):
    """The number TEXT writes in decimal (12, -0.5, 1e-3, .5, .inf, .nan), or None. Forms
    YAML 1.1 reads as numbers but a reader would not expect (0x10 = 16, 0o17, 0b101,
    1:30 = 90 in base 60, 1_000) are not numbers here. ``whole``: an integer only."""
    v = text.strip()
    if _PLAIN_INT.match(v):
        return int(v)
    if whole:
        return None
    if _PLAIN_FLOAT.match(v):
        return float(v)
    if _INF_NAN.match(v):
        return float("nan") if "n" in v.lower().replace("inf", "") else float(v.lower().replace(".", ""))
    return None


def _scalar(event, file):
    tag = event.tag
    if tag is None and not event.style:
        # Fast path for the common case, plain decimal numbers (a long sequence has
        # thousands). Unlike YAML 1.1, 1e-3 (no dot) is a number too, as users expect.
        v = event.value
        if _PLAIN_INT.match(v):
            return int(v)
        if _PLAIN_FLOAT.match(v):
            return float(v)
    m = event.start_mark
    if tag not in (None, "!") and tag not in _STANDARD_TAGS:
        raise InputError(f"the YAML tag {tag} is not allowed (tags are never turned into objects)",
                         file=file, line=m.line + 1, column=m.column + 1)
    if tag == "!":
        return event.value
    explicit = tag is not None
    if tag is None:
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    text = event.value
    if tag == _Y + "str":
        return text
    if tag == _Y + "null":
        return None
    if tag == _Y + "bool":
        value = _BOOLS.get(text.strip().lower())
        if value is None:
            raise InputError(f"'{text[:30]}' is not a valid !!bool: write true or false",
                             file=file, line=m.line + 1, column=m.column + 1)
        return value
    if tag in (_Y + "int", _Y + "float"):
        value = decimal_number(text, whole=tag == _Y + "int")
        if value is not None:
            return value if tag == _Y + "int" else float(value)
        if explicit:
            want = "a whole number" if tag == _Y + "int" else "a number"
            raise InputError(f"'{text[:30]}' is not a valid !!{tag[len(_Y):]}: expected {want} written in "
                             "decimal", file=file, line=m.line + 1, column=m.column + 1)
        return text  # 0x10, 1:30, 1_000: kept as written (a number slot says so, with the reason)
    if tag == _Y + "merge" and not explicit:
        return MERGE
    return text  # dates and the like stay text


# What a YAML file may hold: PyYAML's printable characters (tab, newline, carriage return,
# printable ASCII, NEL, and Unicode from U+00A0 without surrogates and U+FFFE/U+FFFF).
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _position(text: str, index: int) -> tuple[int, int]:
    """(line, column), 1-based, of the character at INDEX of TEXT."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _check_characters(text: str, file: str) -> None:
    m = _NOT_PRINTABLE.search(text)
    if m is None:
        return
    import unicodedata
    ch = m.group(0)
    name = unicodedata.name(ch, "") or {"\x1b": "ESCAPE", "\x07": "BELL", "\x08": "BACKSPACE",
                                         "\x0c": "FORM FEED", "\x0b": "LINE TABULATION",
                                         "\x7f": "DELETE"}.get(ch, "a control character")
    line, col = _position(text, m.start())
    raise InputError(f"the character U+{ord(ch):04X} ({name}) is not allowed in a YAML file; "
                     "a problem file is plain text", file=file, line=line, column=col)


def _size(value, memo: dict) -> int:
    """Nodes VALUE holds, aliases expanded (memoised by identity, so an alias bomb costs
    only its distinct parts to measure)."""
    if not isinstance(value, (list, dict)):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    items = value if isinstance(value, list) else value.values()
    n = 1
    for v in items:
        n += _size(v, memo) if isinstance(v, (list, dict)) else 1
    memo[key] = n
    return n


def load_text(text: str, file: str = "<input>") -> Located:
    """Build the data tree from YAML text; raise InputError on anything unsafe or malformed."""
    _check_characters(text, file)
    text, lists = _take_number_lists(text)
    by_id = {i: (lst, len(lst) - len(key)) for i, (lst, key) in enumerate(lists.values())}
    spans: dict = {}
    marks: dict = {}
    anchors: dict = {}
    # frames: [container, path, pending key, anchor, start event, merges, is a list]
    stack: list = []
    frame = None
    root = _UNSET = object()
    nodes = 0
    expanded = 0
    memo: dict = {}

    def mark_of(event):
        return (event.start_mark.line + 1, event.start_mark.column + 1)

    def fail(message, event, path=None):
        line, col = mark_of(event)
        return InputError(message, file=file, line=line, column=col, path=path)

    def deliver_to_map(value, event):
        """A key or a value of the mapping of the innermost frame."""
        container, path = frame[0], frame[1]
        pending = frame[2]
        if pending is _UNSET:
            if isinstance(value, (list, dict)):
                raise fail("a mapping key must be a plain value", event, path)
            if value is MERGE:  # <<: *base, the YAML merge key
                if frame[5] is not None:
                    raise fail("the merge key '<<' appears twice", event, path)
                frame[5] = (mark_of(event), [])
                frame[2] = MERGE
                return
            # a key as written: `true:` is the key 'true' and `~:` the key '~', not True or None
            key = value if isinstance(value, str) else \
                event.value if isinstance(event, yaml.ScalarEvent) else str(value)
            if key in container:
                raise fail(f"the key '{key}' appears twice", event, path + (key,))
            frame[2] = key
            marks[path + (key,)] = (event.start_mark.line + 1, event.start_mark.column + 1)
        elif pending is MERGE:
            merged = value if isinstance(value, list) else [value]
            if not merged or not all(isinstance(v, dict) for v in merged):
                raise fail("the merge key '<<' takes a mapping or a list of mappings (<<: *base)", event, path)
            frame[5][1].extend(merged)
            frame[2] = _UNSET
        else:
            container[pending] = "<<" if value is MERGE else value
            frame[2] = _UNSET

    def child_path():
        if frame is None:
            return ()
        if frame[6]:
            return frame[1] + (len(frame[0]),)
        if frame[2] is MERGE or frame[2] is _UNSET:
            return frame[1]
        return frame[1] + (frame[2],)

    Scalar, Alias = yaml.ScalarEvent, yaml.AliasEvent
    SeqStart, MapStart = yaml.SequenceStartEvent, yaml.MappingStartEvent
    SeqEnd, MapEnd = yaml.SequenceEndEvent, yaml.MappingEndEvent
    plain_int, plain_float = _PLAIN_INT.match, _PLAIN_FLOAT.match
    try:
        documents = 0
        for event in yaml.parse(text, Loader=_Parser):
            cls = event.__class__
            if cls is Scalar:
                nodes += 1
                v = event.value
                if event.tag is None and not event.style and not event.anchor:  # plain: the common case
                    if plain_int(v):
                        value = int(v)
                    elif plain_float(v):
                        value = float(v)
                    elif lists and v in _KEYS and event.start_mark.index in lists \
                            and lists[event.start_mark.index][1] == v:
                        value = _numbers(lists[event.start_mark.index][0])
                        spans[child_path()] = (event.start_mark.line + 1, event.start_mark.column + 1,
                                               lists[event.start_mark.index][0])
                    else:
                        if lists and "\ue000" in v:
                            event.value = _put_back(v, by_id)
                        value = _scalar(event, file)
                else:
                    if lists and "\ue000" in v:
                        event.value = _put_back(v, by_id)
                    value = _scalar(event, file)
                    if event.anchor:
                        anchors[event.anchor] = "<<" if value is MERGE else value
                if frame is None:
                    root = value
                elif frame[6]:
                    container = frame[0]
                    marks[frame[1] + (len(container),)] = (event.start_mark.line + 1, event.start_mark.column + 1)
                    container.append("<<" if value is MERGE else value)
                else:
                    deliver_to_map(value, event)
            elif cls is MapStart or cls is SeqStart:
                nodes += 1
                if event.tag not in (None, "!") and event.tag not in _STANDARD_TAGS:
                    raise fail(f"the YAML tag {event.tag} is not allowed (tags are never turned into objects)",
                               event)
                if len(stack) >= MAX_DEPTH:
                    raise fail(f"the data is nested more than {MAX_DEPTH} levels deep", event)
                if frame is not None and not frame[6] and frame[2] is _UNSET:
                    raise fail("a mapping key must be a plain value", event, frame[1])
                path = child_path()
                if frame is None:
                    marks[()] = mark_of(event)
                is_list = cls is SeqStart
                frame = [[] if is_list else {}, path, _UNSET, event.anchor, event, None, is_list]
                stack.append(frame)
            elif cls is SeqEnd or cls is MapEnd:
                container, path, _, anchor, start, merges, is_list = stack.pop()
                frame = stack[-1] if stack else None
                if merges is not None:  # explicit keys win; of several merged maps, the first
                    where, maps = merges
                    for m in maps:
                        for k, v in m.items():
                            if k not in container:
                                container[k] = v
                                marks[path + (k,)] = where
                if anchor:
                    anchors[anchor] = container
                if frame is None:
                    root = container
                elif frame[6]:
                    marks[frame[1] + (len(frame[0]),)] = mark_of(start)
                    frame[0].append(container)
                else:
                    deliver_to_map(container, start)
            elif cls is Alias:
                nodes += 1
                if event.anchor not in anchors:
                    raise fail(f"unknown alias *{event.anchor}", event)
                value = anchors[event.anchor]
                expanded += _size(value, memo)
                if expanded > MAX_ALIAS_EXPANSION:
                    raise fail("aliases expand to too much data (an alias bomb?)", event)
                if frame is None:
                    root = value
                elif frame[6]:
                    marks.setdefault(frame[1] + (len(frame[0]),), mark_of(event))
                    frame[0].append(value)
                else:
                    deliver_to_map(value, event)
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise fail("the file holds more than one YAML document", event)
            if nodes > MAX_NODES:
                raise fail(f"the file holds more than {MAX_NODES:,} values: too large to be a problem "
                           "(a list of numbers on one line counts as one)", event)
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        what = " ".join(str(exc.problem or exc.context or "malformed YAML").split())
        raise InputError(f"YAML syntax error: {what}", file=file,
                         line=m.line + 1 if m else 1, column=m.column + 1 if m else 1)
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position) if isinstance(exc.position, int) else (1, 1)
        raise InputError(f"YAML error: {' '.join(str(exc.reason).split())}", file=file, line=line, column=col)
    except yaml.YAMLError as exc:
        raise InputError("YAML error: " + " ".join(str(exc).split())[:200], file=file, line=1, column=1)
    if root is _UNSET or root is MERGE:
        root = None if root is _UNSET else "<<"
    marks.setdefault((), (1, 1))
    return Located(root, file, marks, spans)


# -- reading a file ------------------------------------------------------------------------

STDIN = "-"


def _os_reason(exc: OSError, path: str) -> str:
    import errno
    if exc.errno == errno.ENOENT:
        return "no such file (a symbolic link to a missing file)" if os.path.islink(path) else "no such file"
    if exc.errno == errno.ELOOP:
        return "cannot read: a symbolic link loop (too many levels of symbolic links)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot read: permission denied (the file, or a directory on its path, is not readable)"
    if exc.errno == errno.ENOTDIR:
        return "no such file: a part of the path is a file, not a directory"
    if exc.errno == errno.ENAMETOOLONG:
        return "cannot read: the file name is too long"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a problem file"
    return f"cannot read: {exc.strerror or exc}"


def _kind_of_file(mode: int) -> str | None:
    """What a file that is not a regular file is (None for a regular file)."""
    import stat
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def load_file(path: str) -> Located:
    """Read and parse a problem file, with clear messages for anything but a readable YAML
    file. ``-`` is standard input. Only a regular file is read (a named pipe or a device
    would block or never end): it is opened without waiting and checked before reading."""
    if path == STDIN:
        return load_stdin()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(_os_reason(exc, path), file=path) from None
    try:
        st = os.fstat(fd)
        what = _kind_of_file(st.st_mode)
        if what == "a directory":
            raise InputError("is a directory, not a problem file", file=path)
        if what is not None:
            raise InputError(f"is {what}, not a regular file; to read a problem from a pipe, "
                             "give - (standard input): nnsolve run - < problem.yaml", file=path)
        if st.st_size > MAX_BYTES:
            raise InputError(f"the file is {st.st_size:,} bytes; a problem file is at most {MAX_BYTES:,} "
                             "bytes (5 MB)", file=path)
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise InputError(_os_reason(exc, path), file=path) from None
    finally:
        os.close(fd)
    return load_bytes(raw, path)


def load_stdin(name: str = "<stdin>") -> Located:
    """A problem file read from standard input (``nnsolve run -``)."""
    import sys
    stream = getattr(sys.stdin, "buffer", None)
    try:
        if stream is not None:
            raw = stream.read(MAX_BYTES + 1)
        else:
            raw = (sys.stdin.read(MAX_BYTES + 1) if sys.stdin is not None else "").encode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    return load_bytes(raw, name)


def _byte_position(raw: bytes, index: int) -> tuple[int, int]:
    """(line, column), 1-based, of the byte at INDEX (columns count characters)."""
    line = raw.count(b"\n", 0, index) + 1
    start = raw.rfind(b"\n", 0, index) + 1
    return line, len(raw[start:index].decode("utf-8", "replace")) + 1


def _wide_encoding(raw: bytes) -> str | None:
    """'UTF-16' or 'UTF-32' for text saved in those encodings (a byte-order mark, or ASCII
    text with every other, or three of four, bytes zero); else None."""
    if raw.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        return "UTF-32"
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "UTF-16"
    n = min(len(raw), 400) // 4 * 4
    if n < 4:
        return None
    zeros = [sum(1 for i in range(k, n, 4) if raw[i] == 0) for k in range(4)]
    full = n // 4
    if (zeros[1] == zeros[2] == zeros[3] == full and zeros[0] == 0) or \
            (zeros[0] == zeros[1] == zeros[2] == full and zeros[3] == 0):
        return "UTF-32"
    if (zeros[1] == zeros[3] == full and zeros[0] + zeros[2] == 0) or \
            (zeros[0] == zeros[2] == full and zeros[1] + zeros[3] == 0):
        return "UTF-16"
    return None


def load_bytes(raw: bytes, name: str) -> Located:
    """The bytes of a problem file: UTF-8 text (a byte-order mark allowed), else a located error."""
    if len(raw) > MAX_BYTES:
        raise InputError(f"more than {MAX_BYTES:,} bytes; a problem file is at most {MAX_BYTES:,} bytes (5 MB)",
                         file=name)
    wide = _wide_encoding(raw)
    if wide:
        raise InputError(f"this file is {wide} text; save it as UTF-8", file=name, line=1, column=1)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(raw, nul)
        raise InputError("this is a binary file (it holds a NUL byte), not a YAML problem file",
                         file=name, line=line, column=col)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        raise InputError(f"not UTF-8 text: the byte 0x{raw[exc.start]:02X} cannot start or continue a "
                         "UTF-8 character; save the file as UTF-8", file=name, line=line, column=col)
    return load_text(text, name)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

