from django.urls import path

from . import export_views, job_views, pdf_views, views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("research.csv", views.research_export, name="research_export"),
    path("export/<str:fmt>/<str:kind>.zip", export_views.download, name="export"),
    path("jobs/", job_views.start, name="job_start"),
    path("jobs/<int:pk>/", job_views.detail, name="job"),
    path("jobs/<int:pk>/status/", job_views.status, name="job_status"),
    path("jobs/<int:pk>/retry/", job_views.retry, name="job_retry"),
    path("jobs/<int:pk>/download/", job_views.download, name="job_download"),
    path("cohort/", pdf_views.cohort, name="cohort"),
    path("cohort.pdf", pdf_views.cohort_pdf, name="cohort_pdf"),
    path("patient/<int:pk>/case.pdf", pdf_views.case_pdf, name="case_pdf"),
    path("patient/<int:pk>/publication/", pdf_views.publication, name="publication"),
]
