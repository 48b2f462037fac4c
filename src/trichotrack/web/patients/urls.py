from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/audit/", views.patient_audit, name="audit"),
    path("<int:pk>/staging/new/", views.staging_add, name="staging_add"),
    path("<int:pk>/labs/new/", views.lab_add, name="lab_add"),
    path("<int:pk>/medications/new/", views.medication_add, name="medication_add"),
    path("<int:pk>/medications/<int:med_pk>/stop/", views.medication_stop, name="medication_stop"),
    path("<int:pk>/screen/new/", views.screen_add, name="screen_add"),
    path("<int:pk>/flags/<int:flag_pk>/acknowledge/", views.flag_acknowledge, name="flag_acknowledge"),
]
