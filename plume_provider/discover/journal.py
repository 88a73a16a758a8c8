"""Discover's journal: every answered look-up, so a stopped run resumes without repeating one.

One JSON line per answered call (`{"call": ..., "key": ..., "answer": ...}`), flushed and synced
before the answer is used. The first line binds the journal to what its answers are true for:
the API URL, the partner and the CRM file. A journal made for another partner or cloud would
answer from someone else's customers (and write their ids as `importId`), so opening it with
other settings is refused in one line, as is a line that is not a journaled answer of the
expected shape: a `JournalError` naming the file (and line), before any call.

A kill can cut only the last line (each line is written whole, then synced): a last line with
no newline that does not parse is dropped, and that call is made again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from pydantic import TypeAdapter, ValidationError

from plume_provider.client.errors import JournalError

__all__ = ["Journal", "JournalBinding"]

KIND: Final = "plume-fleet discover journal"
VERSION: Final = 2


@dataclass(frozen=True)
class JournalBinding:
    """What a journal's answers are true for."""

    api_url: str
    partner_id: str
    crm: str
    """The CRM file's absolute path, links resolved."""

    def fields(self) -> dict[str, str]:
        """The header's keys and values."""
        return {"api": self.api_url, "partner": self.partner_id, "crm": self.crm}

    def header(self) -> dict[str, Any]:
        return {"journal": KIND, "version": VERSION, **self.fields()}

    def mismatches(self, header: Mapping[str, Any]) -> list[str]:
        """`the journal's value, not ours` for each binding that differs."""
        spelled = {"api": "API URL", "partner": "partner", "crm": "CRM file"}
        return [
            f"{spelled[key]} {header.get(key)!r}, not {value!r}"
            for key, value in self.fields().items()
            if header.get(key) != value
        ]


class Journal:
    """Answered calls of one discover run and its reruns, checked against `shapes` (call ->
    the type its answers have) when read back."""

    def __init__(
        self, path: Path, binding: JournalBinding, shapes: Mapping[str, TypeAdapter[Any]]
    ) -> None:
        self.path = path
        self.shapes = shapes
        self.answers: dict[tuple[str, str], Any] = {}
        self.replayed = 0
        self.made = 0
        fresh = not path.exists() or not self._read(binding)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: TextIO = path.open("a", encoding="utf-8")
        if fresh:
            self._write(binding.header())

    def _refuse(self, problem: str, line: int | None = None) -> JournalError:
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return JournalError(f"journal {where}: {problem}")

    def _read(self, binding: JournalBinding) -> bool:
        """Load the answers; False when the file holds nothing (not even a whole header)."""
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        if lines[-1] and not _parses(lines[-1]):
            self._truncate(len(raw) - len(lines[-1]))  # cut by a kill: made again
            lines[-1] = b""
        elif lines[-1]:
            with self.path.open("ab") as out:  # a whole last line, its newline lost
                out.write(b"\n")
        if not any(line.strip() for line in lines):
            return False
        header = _json(lines[0])
        if not isinstance(header, dict) or header.get("journal") != KIND:
            raise self._refuse(
                "not a journal of this plume-fleet version (its first line binds no API URL, "
                "partner and CRM file); delete it to look everything up afresh",
                1,
            )
        if mismatches := binding.mismatches(header):
            raise self._refuse(
                f"made for {'; '.join(mismatches)}; delete it to look everything up afresh, "
                "or pass the settings and CRM file it was made for"
            )
        for number, line in enumerate(lines[1:], start=2):
            if line.strip():
                self._load(number, line)
        return True

    def _load(self, number: int, line: bytes) -> None:
        entry = _json(line)
        if not isinstance(entry, dict) or set(entry) != {"call", "key", "answer"}:
            raise self._refuse(_BAD_LINE.format(what="not a journaled answer"), number)
        call, key = entry["call"], entry["key"]
        shape = self.shapes.get(call) if isinstance(call, str) else None
        if shape is None or not isinstance(key, str):
            raise self._refuse(_BAD_LINE.format(what=f"unknown call {call!r}"), number)
        try:
            shape.validate_python(entry["answer"], strict=True)
        except ValidationError:
            raise self._refuse(
                _BAD_LINE.format(what=f"the answer of {call} {key!r} has the wrong shape"),
                number,
            ) from None
        self.answers[(call, key)] = entry["answer"]

    def _truncate(self, size: int) -> None:
        with self.path.open("r+b") as out:
            out.truncate(size)

    def _write(self, entry: Mapping[str, Any]) -> None:
        self._out.write(json.dumps(entry) + "\n")
        self._out.flush()
        os.fsync(self._out.fileno())

    def answer(self, call: str, key: str, make: Callable[[], Any]) -> Any:
        """The journaled answer of `call(key)`, else make the call and journal its answer."""
        if (call, key) in self.answers:
            self.replayed += 1
            return self.answers[(call, key)]
        value = make()
        self.made += 1
        self._write({"call": call, "key": key, "answer": value})
        self.answers[(call, key)] = value
        return value

    def close(self) -> None:
        self._out.close()


_BAD_LINE: Final = (
    "{what}; delete this line (its call is made again) or the whole journal, then rerun"
)


def _json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True
