from django.contrib import admin

from .models import ConsentDefinition


@admin.register(ConsentDefinition)
class ConsentDefinitionAdmin(admin.ModelAdmin):
    """New versions are added here for now; a consent-form editor is future work."""

    list_display = ["clinic", "kind", "version", "valid_from", "valid_to"]
    list_filter = ["clinic", "kind"]
