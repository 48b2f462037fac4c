from django.urls import path

from . import views

app_name = "photos"
urlpatterns = [
    path("card/<str:paper>/<str:field>.pdf", views.card_pdf, name="card"),
    path("patients/<int:pk>/photos/", views.patient_photos, name="patient"),
    path("patients/<int:pk>/photos/new/", views.session_create, name="session_create"),
    path("patients/<int:pk>/photos/pairs/new/", views.pair_create, name="pair_create"),
    path("photos/sessions/<int:pk>/", views.session_detail, name="session"),
    path("photos/sessions/<int:pk>/upload/", views.upload, name="upload"),
    path("photos/<int:pk>/", views.photo_detail, name="detail"),
    path("photos/<int:pk>/status/", views.photo_status, name="status"),
    path("photos/<int:pk>/image/<str:variant>/", views.photo_image, name="image"),
    path("photos/<int:pk>/original/", views.photo_original, name="original"),
    path("photos/<int:pk>/measure/", views.photo_measure, name="measure"),
    path("photos/<int:pk>/correct/", views.photo_correct, name="correct"),
    path("photos/<int:pk>/orientation/", views.photo_orientation, name="orientation"),
    path("photos/pairs/<int:pk>/", views.pair_detail, name="pair"),
    path("photos/pairs/<int:pk>/registered/", views.pair_image, name="pair_image"),
]
