from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("patients/<int:pk>/portal/invite/", views.invite, name="invite"),
    path("patients/<int:pk>/portal/invitations/<int:invitation_pk>/revoke/", views.revoke, name="revoke"),
    path("portal/join/<str:token>/", views.join, name="join"),
    path("portal/shedding/", views.shed, name="shed"),
    path("portal/history/", views.history, name="history"),
    path("portal/hair-colour/", views.hair_colour, name="hair_colour"),
    path("portal/photos/<int:pk>/", views.photo, name="photo"),
    path("portal/photos/<int:pk>/status/", views.photo_status, name="status"),
    path("portal/photos/<int:pk>/image/<str:variant>/", views.photo_image, name="image"),
]
