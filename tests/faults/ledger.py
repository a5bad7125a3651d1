"""What the fault suite did and found, test by test, for the summary at the end of the run:
faults injected, registrations checked, registrations lost and duplicated (the promise is
0 and 0)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Record:
    """One test's account: each line is also written to the test's output as it happens."""

    test: str
    began: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)
    faults: int = 0
    registrations: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)

    def say(self, line: str) -> None:
        line = f"{time.monotonic() - self.began:5.1f} s  {line}"
        self.lines.append(line)
        sys.stdout.write(f"[{self.test}] {line}\n")

    def inject(self, fault: str) -> None:
        self.faults += 1
        self.say(f"injected: {fault}")

    def check(self, what: str) -> None:
        self.say(f"checked: {what}")

    def checked(self, registration_ids: Iterable[str]) -> None:
        self.registrations.update(registration_ids)


@dataclass
class Ledger:
    records: list[Record] = field(default_factory=list)

    def open(self, test: str) -> Record:
        record = Record(test)
        self.records.append(record)
        return record

    def summary(self) -> list[str]:
        lines = []
        for record in self.records:
            lines.append(record.test)
            lines += [f"    {line}" for line in record.lines]
        lost = set().union(*(record.lost for record in self.records))
        duplicated = set().union(*(record.duplicated for record in self.records))
        checked = set().union(*(record.registrations for record in self.records))
        lines.append(
            f"faults injected: {sum(record.faults for record in self.records)}, "
            f"registrations checked: {len(checked)}, "
            f"lost: {len(lost)}, duplicated: {len(duplicated)}"
        )
        lines += [f"    lost: {registration_id}" for registration_id in sorted(lost)]
        lines += [f"    duplicated: {registration_id}" for registration_id in sorted(duplicated)]
        return lines


LEDGER = Ledger()
