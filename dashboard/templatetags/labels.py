"""A stored value's label, in the reader's language: ``{{ state|label_of:State }}``."""

from __future__ import annotations

from django import template
from django.db.models import Choices

register = template.Library()


@register.filter
def label_of(value: object, choices: type[Choices]) -> object:
    """The label of ``value`` in ``choices`` (State, Result, Vendor... from the context processor), or the
    value itself when it is not one of them (a row written by an older version, say)."""
    try:
        return choices(value).label
    except ValueError:
        return value
