from django.urls import path

from . import views

app_name = "consent"
urlpatterns = [
    path("consent/definitions/", views.definition_list, name="definitions"),
    path("consent/definitions/<int:definition_pk>/", views.definition_detail, name="definition"),
    path(
        "consent/definitions/<int:definition_pk>/new-version/",
        views.definition_new_version,
        name="new_version",
    ),
    path("patients/<int:pk>/consents/new/<str:kind>/", views.consent_create, name="create"),
    path("patients/<int:pk>/consents/<int:consent_pk>/", views.consent_detail, name="detail"),
    path("patients/<int:pk>/consents/<int:consent_pk>/consent.pdf", views.consent_pdf, name="pdf"),
    path("patients/<int:pk>/consents/<int:consent_pk>/withdraw/", views.consent_withdraw, name="withdraw"),
]
