"""Optimistic locking: two people editing one record never silently overwrite each other.

A model with a ``version`` field is saved through ``save_versioned(obj, expected_version)``; the edit form
carries the version the user started from, and a save against a newer version raises ``StaleEdit``.
"""

from django.db import transaction
from django.db.models import F


class StaleEdit(Exception):
    """Someone else saved this record after the form was opened."""


def save_versioned(obj, expected_version: int) -> None:
    with transaction.atomic():
        model = type(obj)
        updated = model.objects.filter(pk=obj.pk, version=expected_version).update(version=F("version") + 1)
        if updated != 1:
            raise StaleEdit(f"{model._meta.verbose_name} was changed by someone else; reload and try again.")
        obj.version = expected_version + 1
        obj.save()
