from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("research.csv", views.research_export, name="research_export"),
]
