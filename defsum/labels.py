"""The event labels defsum tags, and their definitions (see ``../shared/LABELS.md``)."""

from __future__ import annotations

from typing import Iterable

LABELS: tuple[str, ...] = ("elite_defection", "provocation", "diplomacy")
"""The three event labels, in the order every model's outputs use."""

NONE = "none"
"""The ``primary`` value of an article that carries no label."""

DEFINITIONS: dict[str, str] = {
    "elite_defection": (
        "A person holding a position in a state apparatus, such as a diplomat, official, party "
        "cadre, soldier, security officer or state worker posted abroad, abandons their state for "
        "a rival state, or such a defection is revealed, confirmed or officially reacted to."
    ),
    "provocation": (
        "A coercive or hostile act or threat by a state against another state: missile, rocket or "
        "nuclear tests and launches, artillery fire, border, airspace or maritime incursions, shows "
        "of force, harassment, state cyberattacks, seizures of ships or people, threats of force."
    ),
    "diplomacy": (
        "Official interaction between states to negotiate or manage relations: talks, summits, "
        "envoy or minister visits, leaders' phone calls, establishing or cutting ties, agreements, "
        "sanctions decisions, UN Security Council resolutions, formal protests, offers of dialogue."
    ),
}


def check_labels(labels: Iterable[str], *, where: str = "labels") -> list[str]:
    """Return ``labels`` as a list after checking each one is known.

    >>> check_labels(["diplomacy"])
    ['diplomacy']
    """
    out = list(labels)
    unknown = [label for label in out if label not in LABELS]
    if unknown:
        raise ValueError(
            f"{where}: unknown label(s) {unknown}; defsum labels are {list(LABELS)}"
        )
    return out
