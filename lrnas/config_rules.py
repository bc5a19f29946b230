"""Rules of config keys, declared beside the code that reads each key, and the one-line error a bad value gets.

Each group option's owner says what its keys accept, with keys relative to its group:

    lrnas/training.py               TRAINER_RULES              trainer.*
    lrnas/algorithms/<name>.py      ALGORITHM.config_rules     algorithm.* (a user's algorithm declares its own)
    lrnas/spaces/<name>/__init__.py config_rules(rules)        space.* beyond lrnas.spaces.SPACE_RULES
    ...                             (lrnas.validation.rules_of lists every owner)

``lrnas.validation`` checks the composed config against the rules of the options it selected: a key an option
declares is required, a key it does not declare belongs to the user (``+key=value``).

    >>> check({"trainer": {"epochs": 0}}, "trainer", {"epochs": integer(1)})
    Traceback (most recent call last):
    ...
    lrnas.config_rules.ConfigError: trainer.epochs=0 is invalid: must be an integer >= 1
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Seeds numpy accepts (numpy.random.seed and SeedSequence): non-negative, 32 bits.
MAX_SEED = 2**32 - 1


class ConfigError(ValueError):
    """A bad configuration value; the message is one line naming the key, the bad value and what is allowed."""


@dataclass(frozen=True)
class Rule:
    allowed: str  # completes "must be ...", e.g. "an integer >= 1"
    accepts: Callable[[Any], bool]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML `true` is not a count


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer(low: int | None = None, high: int | None = None) -> Rule:
    allowed = ("an integer" if low is None else f"an integer >= {low}" if high is None
               else f"an integer in {low}..{high}")
    return Rule(allowed, lambda v: _is_int(v) and (low is None or v >= low) and (high is None or v <= high))


def seed() -> Rule:
    return integer(0, MAX_SEED)


def positive() -> Rule:
    return Rule("a number > 0", lambda v: _is_number(v) and v > 0)


def non_negative() -> Rule:
    return Rule("a number >= 0", lambda v: _is_number(v) and v >= 0)


def fraction(closed: bool = False) -> Rule:
    """A number in [0, 1) (or [0, 1] when ``closed``)."""
    return Rule(f"a number in [0, 1{']' if closed else ')'}",
                lambda v: _is_number(v) and 0 <= v and (v <= 1 if closed else v < 1))


def one_of(options: Iterable[str]) -> Rule:
    options = tuple(options)
    return Rule(f"one of {', '.join(options)}", lambda v: v in options)


def flag() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def text() -> Rule:
    return Rule("a string", lambda v: isinstance(v, str))


def optional(rule: Rule) -> Rule:
    return Rule(f"null or {rule.allowed}", lambda v: v is None or rule.accepts(v))


def invalid(key: str, value, allowed: str) -> ConfigError:
    return ConfigError(f"{key}={show(value)} is invalid: must be {allowed}")


def show(value) -> str:
    """The value as the user typed it in an override (null, true), strings quoted."""
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else repr(value)


def lookup(values: dict, key: str):
    """The value at dotted ``key`` of a nested dict, or None where any part is missing."""
    for part in key.split("."):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


_ABSENT = object()


def check(values: dict, group: str, rules: dict[str, Rule]) -> None:
    """Check the ``group`` node of a resolved config against ``rules`` (keys relative to it, dotted for nested keys).
    A declared key is required; one under a null parent (``data.synthetic.train`` with ``synthetic: null``) is not
    there to check."""
    for key, rule in rules.items():
        node, value = values.get(group, _ABSENT) if group else values, _ABSENT
        for part in key.split("."):
            if node is None:
                break
            value = node.get(part, _ABSENT) if isinstance(node, dict) else _ABSENT
            node = value
        else:
            full = f"{group}.{key}" if group else key
            if value == "???" or value is _ABSENT:  # a `???` stays the string "???" once resolved
                raise ConfigError(f"{full}{'=???' if value == '???' else ''} is missing: must be {rule.allowed}")
            if not rule.accepts(value):
                raise invalid(full, value, rule.allowed)
