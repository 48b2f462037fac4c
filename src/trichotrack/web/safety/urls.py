from django.urls import path

from . import views

app_name = "safety"
urlpatterns = [
    path("adverse-events/", views.ae_list, name="list"),
    path("patients/<int:pk>/adverse-events/new/", views.ae_create, name="create"),
    path("adverse-events/<int:pk>/", views.ae_detail, name="detail"),
    path("adverse-events/<int:pk>/edit/", views.ae_edit, name="edit"),
]
