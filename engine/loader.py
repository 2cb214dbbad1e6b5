"""Safe, bounded YAML loading that remembers where every key and value came from.

The document is built from the parser's event stream rather than through a constructor, so no
tag can ever instantiate an object, aliases are counted as they expand, and nesting is bounded
before anything recurses over the tree.

Scalars resolve under YAML 1.1 rules, as PyYAML reads them, because ParallelCluster reads
configurations with PyYAML: `Enabled: yes` is a boolean there and a string under YAML 1.2, and
pcimage must reach the same verdict. PyYAML applies 1.1 rules even under a `%YAML 1.2` directive,
and so does pcimage.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml import events as yaml_events
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.main import CParser
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.reader import ReaderError

from .messages import KeyPath
from .report import LoadProblem
from .values import describe_value, yaml_text

#: Largest accepted configuration, in bytes of UTF-8 text. Real image configs are a few KiB.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
#: Deepest accepted nesting of mappings and sequences. The image config schema is 5 levels deep.
MAX_DEPTH = 64
#: Most nodes the document may hold once every alias is expanded ("billion laughs" guard).
MAX_NODES = 1_000_000

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}

# Plain-scalar resolution of YAML 1.1 as PyYAML applies it. ruamel's own 1.1 resolver differs from
# PyYAML on a few forms (it reads `y` and `n` as booleans), so the expressions are spelled out here.
_YAML11_IMPLICIT = [
    (_BOOL, re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")),
    (
        _INT,
        re.compile(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
        ),
    ),
    (
        _FLOAT,
        re.compile(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
    ),
    (_MERGE, re.compile(r"^<<$")),
    (_NULL, re.compile(r"^(?:~|null|Null|NULL|)$")),
    (
        _TIMESTAMP,
        re.compile(
            r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
            r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$"
        ),
    ),
]
# The rules above as one expression with a group per rule, so one match call finds the first rule
# that matches. Every rule is anchored at both ends, so the alternatives are tried in list order.
_YAML11_IMPLICIT_ANY = re.compile(
    "|".join(f"(?P<rule{index}>{expression.pattern})" for index, (_, expression) in enumerate(_YAML11_IMPLICIT))
)
_YAML11_RULE_TAGS = {f"rule{index}": tag for index, (tag, _) in enumerate(_YAML11_IMPLICIT)}
# Plain scalars that start with none of these characters are strings under every rule above.
_RESOLVABLE_FIRST_CHARACTERS = frozenset("-+.0123456789~nNtTfFyYoO<")
_TIMESTAMP_CONSTRUCTOR = SafeConstructor()


class ConfigLoadError(Exception):
    """The text is not a readable YAML mapping. `problem` describes why and where."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None, offset: int | None = None):
        self.problem = LoadProblem(problem, line, column, offset)
        super().__init__(str(self.problem))


class Position(NamedTuple):
    """A 1-based line and column in the source text."""

    line: int
    column: int


@dataclass
class SourceMap:
    """Start positions of the keys and values of a loaded document in its source text.

    Paths that have no entry of their own (content reached through an alias, or a key that is
    missing) are located at their nearest recorded ancestor.
    """

    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)

    def locate(self, path: KeyPath, *, key: bool = False) -> tuple[int | None, int | None]:
        """Return (line, column) of the value at `path`, or of its key when `key` is true."""
        path = tuple(path)
        if key and path in self.keys:
            position = self.keys[path]
            return position.line, position.column
        while True:
            position = self.values.get(path)
            if position is not None:
                return position.line, position.column
            if not path:
                return None, None
            path = path[:-1]


@dataclass(frozen=True)
class LoadedDocument:
    """A configuration as plain Python data (dict, list, str, int, float, bool, None, date)."""

    data: dict[str, Any]
    source_map: SourceMap
    text: str


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence under construction."""

    container: dict | list
    is_mapping: bool
    path: KeyPath
    anchor: str | None
    size: int = 1
    depth: int = 0
    pending_key: Any = None
    has_pending_key: bool = False


@dataclass(frozen=True)
class _Anchored:
    value: Any
    size: int
    depth: int


def load_yaml(source: str | bytes) -> LoadedDocument:
    """Load one YAML document holding a mapping; raise ConfigLoadError for anything else.

    A UTF-8 byte-order mark and CRLF line endings are accepted.
    """
    text = _decode(source)
    return _Builder(text).build()


def _decode(source: str | bytes) -> str:
    if isinstance(source, str):
        size = len(source.encode("utf-8", errors="surrogatepass"))
        text = source
        surrogate = _SURROGATE.search(text)
        if surrogate is not None:
            line, column = _line_and_column(text, surrogate.start())
            raise ConfigLoadError(
                f"the configuration contains the unpaired surrogate U+{ord(surrogate.group()):04X}, "
                "which is not a Unicode character",
                line,
                column,
            )
    else:
        size = len(source)
        if size <= MAX_DOCUMENT_BYTES:
            data = bytes(source)
            skipped = 3 if data.startswith(b"\xef\xbb\xbf") else 0
            try:
                text = data[skipped:].decode("utf-8")
            except UnicodeDecodeError as error:
                offset = error.start + skipped
                before = data[skipped:offset]
                line = before.count(b"\n") + 1
                column = offset - skipped - (before.rfind(b"\n") + 1) + 1
                raise ConfigLoadError(
                    f"the configuration is not valid UTF-8 text: byte 0x{data[offset]:02x} at byte offset "
                    f"{offset} cannot be decoded; save the file as UTF-8",
                    line,
                    column,
                    offset,
                ) from None

    if size > MAX_DOCUMENT_BYTES:
        raise ConfigLoadError(f"the configuration is larger than the maximum of {MAX_DOCUMENT_BYTES} bytes")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line, column = _line_and_column(text, text.index("\x00"))
        raise ConfigLoadError(
            "the configuration contains NUL bytes: it is binary or UTF-16 text, so save it as UTF-8",
            line,
            column,
        )
    if not text.strip():
        raise ConfigLoadError("the configuration is empty")
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _line_and_column(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


@contextlib.contextmanager
def _event_stream(text: str) -> Iterator[Iterator[yaml_events.Event]]:
    """Yield an iterator over the parser's events for `text`, parsed one at a time as it is read."""
    if CParser is None:
        # Without ruamel.yaml.clib, YAML(pure=False) falls back to the pure-Python parser.
        events = YAML(typ="safe", pure=False).parse(text)
        try:
            yield events
        finally:
            events.close()
        return

    # YAML(pure=False) parses with this same libyaml CParser, in a subclass that adds a
    # constructor. Calling get_event through iter() costs no Python frame per event, unlike
    # the generator of YAML().parse.
    parser = CParser(text)
    try:
        yield iter(parser.get_event, None)
    finally:
        parser.dispose()


def _start_position(event: yaml_events.Event) -> Position:
    mark = event.start_mark
    # tuple.__new__ builds the named tuple without the Python-level Position.__new__ call.
    return tuple.__new__(Position, (mark.line + 1, mark.column + 1))


class _Builder:
    def __init__(self, text: str):
        self.text = text
        self.source_map = SourceMap()
        self.anchors: dict[str, _Anchored] = {}
        self.stack: list[_Frame] = []
        self.nodes = 0
        self.open_anchors: set[str] = set()
        self.root: Any = None
        self.documents = 0

    def build(self) -> LoadedDocument:
        # Dispatch is on the exact class, because ruamel creates no subclasses of these. Stream
        # start and end and document end need no handling.
        handlers = {
            yaml_events.ScalarEvent: self._scalar_event,
            yaml_events.MappingStartEvent: self._mapping_start,
            yaml_events.MappingEndEvent: self._end_collection,
            yaml_events.SequenceStartEvent: self._sequence_start,
            yaml_events.SequenceEndEvent: self._end_collection,
            yaml_events.AliasEvent: self._alias,
            yaml_events.DocumentStartEvent: self._document_start,
        }
        try:
            with _event_stream(self.text) as events:
                for event in events:
                    handler = handlers.get(type(event))
                    if handler is not None:
                        handler(event)
        except ConfigLoadError:
            raise
        except MarkedYAMLError as error:
            raise self._syntax_error(error) from None
        except ReaderError as error:
            raise self._reader_error(error) from None
        except YAMLError as error:
            raise ConfigLoadError(f"invalid YAML: {error}") from None

        if self.documents == 0:
            raise ConfigLoadError("the configuration is empty: it contains only comments or blank lines")
        if not isinstance(self.root, dict):
            found = _describe_type(self.root)
            line, column = self.source_map.locate(())
            raise ConfigLoadError(
                f"the top level of the configuration must be a mapping of keys such as Build and Image, "
                f"found {found}",
                line,
                column,
            )
        return LoadedDocument(self.root, self.source_map, self.text)

    # Event handling

    def _document_start(self, event: yaml_events.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            raise ConfigLoadError(
                "the configuration contains more than one YAML document; remove the second '---' and what follows",
                *self._position(event),
            )

    def _scalar_event(self, event: yaml_events.ScalarEvent) -> None:
        value = event.value
        # An untagged quoted or block scalar is a string, and so is an untagged plain one whose first
        # character starts no implicit type. Such scalars, most of a config, skip `_scalar`.
        if event.ctag is None and (event.style or (value and value[0] not in _RESOLVABLE_FIRST_CHARACTERS)):
            tag = _STR
        else:
            value, tag = self._scalar(event)
        self._count(1, event)
        position = _start_position(event)

        stack = self.stack
        frame = stack[-1] if stack else None
        if frame is None:
            path: KeyPath = ()
        elif not frame.is_mapping:
            path = frame.path + (len(frame.container),)
        elif frame.has_pending_key:
            path = frame.path + (frame.pending_key,)
        else:
            if tag == _MERGE:
                raise ConfigLoadError(
                    "YAML merge keys (<<) are not supported, as in ParallelCluster: write the keys out",
                    *position,
                )
            self._take_key(frame, value, position)
            return

        self.source_map.values[path] = position
        depth = len(stack)
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchored(value, 1, depth)
        self._place(frame, value, 1, depth)

    def _mapping_start(self, event: yaml_events.MappingStartEvent) -> None:
        self._start_collection(event, {}, _MAP, "mapping")

    def _sequence_start(self, event: yaml_events.SequenceStartEvent) -> None:
        self._start_collection(event, [], _SEQ, "sequence")

    def _start_collection(self, event: Any, container: dict | list, standard_tag: str, kind: str) -> None:
        tag = event.tag
        if tag not in (None, "!", standard_tag):
            raise ConfigLoadError(
                f"the tag {tag} is not allowed: pcimage reads plain YAML data only, so remove the tag",
                *self._position(event),
            )

        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.is_mapping and not frame.has_pending_key:
            raise ConfigLoadError(
                f"a mapping key must be plain text, not a {kind}", *self._position(event)
            )
        path = self._child_path(frame)
        depth = len(self.stack) + 1
        if depth > MAX_DEPTH:
            raise ConfigLoadError(
                f"the configuration is nested more than {MAX_DEPTH} levels deep", *self._position(event)
            )
        self._count(1, event)
        self.source_map.values[path] = _start_position(event)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(container, kind == "mapping", path, event.anchor, depth=depth))

    def _end_collection(self, event: yaml_events.CollectionEndEvent) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchored(frame.container, frame.size, frame.depth)
        self._place(self.stack[-1] if self.stack else None, frame.container, frame.size, frame.depth)

    def _alias(self, event: yaml_events.AliasEvent) -> None:
        anchored = self.anchors.get(event.anchor)
        if anchored is None and event.anchor in self.open_anchors:
            raise ConfigLoadError(
                f"the alias *{event.anchor} refers to the mapping or list that contains it; "
                "recursive aliases are not supported",
                *self._position(event),
            )
        if anchored is None:
            raise ConfigLoadError(f"the alias *{event.anchor} names no anchor defined before it", *self._position(event))
        self._count(anchored.size, event)
        depth = len(self.stack) + anchored.depth
        if depth > MAX_DEPTH:
            raise ConfigLoadError(
                f"the alias *{event.anchor} makes the configuration nested more than {MAX_DEPTH} levels deep",
                *self._position(event),
            )
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.is_mapping and not frame.has_pending_key:
            if isinstance(anchored.value, (dict, list)):
                raise ConfigLoadError("a mapping key must be plain text, not a mapping or list", *self._position(event))
            self._take_key(frame, anchored.value, _start_position(event))
            return
        self.source_map.values[self._child_path(frame)] = _start_position(event)
        self._place(frame, anchored.value, anchored.size, anchored.depth)

    # Placing values into the parent. `frame` is the innermost open collection, or None at the top.

    def _take_key(self, frame: _Frame, key: Any, position: Position) -> None:
        # Keys are kept as text, so `2:` and `~:` are reported as the keys '2' and 'null'.
        if not isinstance(key, str):
            key = yaml_text(key)
        # Each mapping's path is its parent's path plus a key or index unique there, so no two
        # mappings share a path, and a key path already in the source map is a repeated key.
        path = frame.path + (key,)
        first = self.source_map.keys.get(path)
        if first is not None:
            raise ConfigLoadError(
                f"duplicate key {key!r}: it is already defined at line {first.line}, column {first.column}",
                position.line,
                position.column,
            )
        self.source_map.keys[path] = position
        frame.pending_key = key
        frame.has_pending_key = True

    @staticmethod
    def _child_path(frame: _Frame | None) -> KeyPath:
        if frame is None:
            return ()
        if frame.is_mapping:
            return frame.path + (frame.pending_key,)
        return frame.path + (len(frame.container),)

    def _place(self, frame: _Frame | None, value: Any, size: int, depth: int) -> None:
        if frame is None:
            self.root = value
            return
        frame.size += size
        frame.depth = max(frame.depth, depth + 1)
        if not frame.is_mapping:
            frame.container.append(value)
            return
        frame.container[frame.pending_key] = value
        frame.has_pending_key = False
        frame.pending_key = None

    # Scalars

    def _scalar(self, event: yaml_events.ScalarEvent) -> tuple[Any, str]:
        tag = event.tag
        plain = event.style is None or event.style == ""
        if tag in (None, "!"):
            tag = self._resolve(event.value) if plain and tag is None else _STR
        elif tag not in _SCALAR_TAGS:
            raise ConfigLoadError(
                f"the tag {tag} is not allowed: pcimage reads plain YAML data only, so remove the tag",
                *self._position(event),
            )
        try:
            return _construct_scalar(tag, event.value), tag
        except ValueError:
            raise ConfigLoadError(
                f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}", *self._position(event)
            ) from None

    def _resolve(self, value: str) -> str:
        if value and value[0] not in _RESOLVABLE_FIRST_CHARACTERS:
            return _STR
        match = _YAML11_IMPLICIT_ANY.match(value)
        return _YAML11_RULE_TAGS[match.lastgroup] if match else _STR

    # Bounds and positions

    def _count(self, amount: int, event: Any) -> None:
        self.nodes += amount
        if self.nodes > MAX_NODES:
            raise ConfigLoadError(
                f"the configuration contains more than {MAX_NODES} values, counting each use of an alias",
                *self._position(event),
            )

    @staticmethod
    def _position(event: Any) -> tuple[int, int]:
        mark = event.start_mark
        return mark.line + 1, mark.column + 1

    def _syntax_error(self, error: MarkedYAMLError) -> ConfigLoadError:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "invalid YAML"
        line = column = None
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
            if self._tab_near(mark.line, mark.column):
                return ConfigLoadError(
                    "a tab character is used for indentation; YAML indentation must use spaces", line, column
                )
        context = f" ({error.context})" if error.context else ""
        return ConfigLoadError(f"invalid YAML: {problem}{context}", line, column)

    def _tab_near(self, line_index: int, column_index: int) -> bool:
        lines = self.text.splitlines()
        if line_index >= len(lines):
            return False
        text_line = lines[line_index]
        indent = text_line[: len(text_line) - len(text_line.lstrip(" \t"))]
        return "\t" in indent or text_line[column_index : column_index + 1] == "\t"

    def _reader_error(self, error: ReaderError) -> ConfigLoadError:
        position = getattr(error, "position", None)
        character = getattr(error, "character", None)
        line = column = None
        if isinstance(position, int):
            before = self.text[:position]
            line = before.count("\n") + 1
            column = position - (before.rfind("\n") + 1) + 1
        if isinstance(character, str) and character:
            character = ord(character)
        shown = f"U+{character:04X}" if isinstance(character, int) else "that is not printable"
        return ConfigLoadError(
            f"the configuration contains the control character {shown}, which YAML does not allow", line, column
        )


def _construct_scalar(tag: str, value: str) -> Any:
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() in ("yes", "true", "on")
    if tag == _INT:
        return _construct_int(value)
    if tag == _FLOAT:
        return _construct_float(value)
    if tag == _TIMESTAMP:
        try:
            return _TIMESTAMP_CONSTRUCTOR.construct_yaml_timestamp(ScalarNode(tag, value))
        except Exception:  # noqa: BLE001 (an odd timestamp stays text rather than failing the load)
            return value
    return value


def _construct_int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text.startswith("0o"):
        return sign * int(text[2:], 8)
    if ":" in text:
        return sign * _sexagesimal(text, int)
    if len(text) > 1 and text.startswith("0"):
        return sign * int(text, 8)
    return sign * int(text)


def _construct_float(value: str) -> float:
    text = value.replace("_", "").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    if ":" in text:
        return sign * _sexagesimal(text, float)
    return sign * float(text)


def _sexagesimal(text: str, kind: type) -> Any:
    total = kind(0)
    for part in text.split(":"):
        total = total * 60 + kind(part)
    return total


def _describe_type(value: Any) -> str:
    return "an empty document" if value is None else describe_value(value)


__all__ = ["ConfigLoadError", "LoadedDocument", "Position", "SourceMap", "load_yaml"]
