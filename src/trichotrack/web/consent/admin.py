from django.contrib import admin

from .models import ConsentDefinition


@admin.register(ConsentDefinition)
class ConsentDefinitionAdmin(admin.ModelAdmin):
    """Clinicians publish new versions in the app (consent:new_version); the admin is for repairs."""

    list_display = ["clinic", "kind", "version", "valid_from", "valid_to"]
    list_filter = ["clinic", "kind"]
