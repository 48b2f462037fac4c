from django.urls import path

from . import views

app_name = "followups"
urlpatterns = [
    path("", views.visit_list, name="list"),
    path("<int:pk>/", views.visit_record, name="visit"),
]
