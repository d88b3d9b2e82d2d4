"""Authorities as users type them: ``--members Bolton,Bury`` as well as ``--members
E08000001,E08000002``.

An entry is an authority id (exact, or in any case when that is unique) or an authority's name
(the whole name, in any case, spaces between words as one). Names may hold commas ("Bournemouth,
Christchurch and Poole"), so a comma-separated list is read back into names: consecutive pieces
joined by ", " are one entry when they spell a name. A near miss is refused with the closest
names (difflib); a name two authorities share is refused with both, to be given by id.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from optimiser.errors import InputError, Problem
from optimiser.records import Instance

#: difflib's similarity from which a typed entry suggests an authority
SUGGEST_CUTOFF = 0.6


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _named(instance: Instance, entry: str) -> list[str]:
    """Ids an entry may mean: its exact id, else ids and names equal to it in any case."""
    if entry in instance.authorities:
        return [entry]
    key = _key(entry)
    return [a for a, authority in instance.authorities.items()
            if key in (_key(a), _key(authority.name))]


def _entries(instance: Instance, pieces: Sequence[str]) -> list[str]:
    """The pieces of a comma-split list, joined back where consecutive ones spell a name."""
    names = {_key(a.name) for a in instance.authorities.values() if "," in a.name}
    entries, i = [], 0
    while i < len(pieces):
        end = next((j for j in range(len(pieces), i + 1, -1)
                    if _key(", ".join(pieces[i:j])) in names), i + 1)
        entries.append(", ".join(p.strip() for p in pieces[i:end]))
        i = end
    return entries


def _suggestion(instance: Instance, entry: str) -> str:
    names = {_key(a.name): a.name for a in instance.authorities.values()}
    names.update({_key(a): a for a in instance.authorities})
    close = difflib.get_close_matches(_key(entry), list(names), n=3, cutoff=SUGGEST_CUTOFF)
    return f" (did you mean {' or '.join(names[c] for c in close)}?)" if close else ""


def resolve_authorities(instance: Instance, pieces: Sequence[str], option: str = "--members",
                        label: str = "") -> list[str]:
    """The ids of ``pieces`` (ids or names, see the module docstring), in the order given.
    ``label`` names the list in messages (an ad-hoc membership's name)."""
    where = f"{label}: " if label else ""
    entries = [e for e in _entries(instance, [p.strip() for p in pieces]) if e]
    found = {e: _named(instance, e) for e in entries}
    unknown = [e for e in entries if not found[e]]
    if unknown:
        raise InputError(Problem(option, f"{where}unknown authorities: " + ", ".join(
            e + _suggestion(instance, e) for e in unknown)))
    for entry in entries:
        if len(found[entry]) > 1:
            candidates = ", ".join(f"{instance.authorities[a].name} ({a})" for a in found[entry])
            raise InputError(Problem(option, f"{where}{entry!r} could be any of {candidates}: "
                                     "give the id"))
    ids = [found[e][0] for e in entries]
    twice = sorted({instance.authorities[a].name for a in ids if ids.count(a) > 1})
    if twice:
        raise InputError(Problem(option, f"{where}an authority is listed twice: "
                                 f"{', '.join(twice)}"))
    return ids
