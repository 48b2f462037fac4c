"""Photo.derived_sha256: the derived copy's SHA-256, stored at upload; existing photos hashed from their file."""

import hashlib

from django.db import migrations, models


def hash_derived_copies(apps, schema_editor):
    """Backfill from the stored files (through the storage API: the data folder or S3). A photo whose file is
    missing keeps an empty hash; exports then hash the file themselves (and find none)."""
    from django.core.files.storage import default_storage

    Photo = apps.get_model("photos", "Photo")
    pending = (
        Photo.objects.using(schema_editor.connection.alias).filter(derived_sha256="").exclude(derived="")
    )
    for pk, name in pending.values_list("pk", "derived").iterator(chunk_size=500):
        try:
            digest = hashlib.sha256()
            with default_storage.open(name, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except (OSError, ValueError):  # missing or unreadable: left empty
            continue
        Photo.objects.using(schema_editor.connection.alias).filter(pk=pk).update(
            derived_sha256=digest.hexdigest()
        )


class Migration(migrations.Migration):
    dependencies = [("photos", "0002_measure_every_kind")]

    operations = [
        migrations.AddField(
            model_name="photo",
            name="derived_sha256",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(hash_derived_copies, migrations.RunPython.noop, elidable=True),
    ]
