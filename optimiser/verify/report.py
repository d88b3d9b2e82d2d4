"""What ``optimise verify`` reports: how many checks, every disagreement, the policy
differences accepted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VerifyReport:
    """How many figures and constraints were checked, every one that disagrees, the policy
    differences accepted (``overrides``) and what was not checked (``notes``)."""

    checks: int = 0
    disagreements: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def lines(self) -> list[str]:
        """What ``optimise verify`` prints: accepted overrides and notes first, then the
        verdict, then every disagreement."""
        lines = []
        if self.overrides:
            lines.append("the run's policy differs from the instance's (summary.json policy):")
            lines += [f"  override {line}" for line in self.overrides]
        lines += self.notes
        if self.ok:
            accepted = (f" (with the {len(self.overrides)} policy override(s) above)"
                        if self.overrides else "")
            return [*lines, f"{self.checks} checks, all agree{accepted}"]
        lines.append(f"{len(self.disagreements)} of {self.checks} checks disagree:")
        return lines + [f"  - {d}" for d in self.disagreements]
