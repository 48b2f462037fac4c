from django.urls import path

from . import views

app_name = "procedures"
urlpatterns = [
    path("procedures/", views.procedure_list, name="list"),
    path("patients/<int:pk>/procedures/new/", views.procedure_create, name="create"),
    path("procedures/<int:pk>/", views.procedure_detail, name="detail"),
    path("procedures/<int:pk>/edit/", views.procedure_edit, name="edit"),
    path("procedures/<int:pk>/labels/", views.procedure_labels, name="labels"),
    path("procedures/<int:pk>/confirm-injection/", views.confirm_injection, name="confirm_injection"),
]
