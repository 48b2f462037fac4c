from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path

from trichotrack.web.clinics import mfa
from trichotrack.web.clinics import views as clinic_views


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", clinic_views.home, name="home"),
    path("dashboard/", clinic_views.dashboard, name="dashboard"),
    path("portal/", clinic_views.portal, name="portal"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/mfa/", mfa.mfa, name="mfa"),
    path("accounts/mfa/recovery-codes/", mfa.recovery_codes, name="mfa_recovery_codes"),
    path("accounts/security/", mfa.account_security, name="account_security"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("patients/", include("trichotrack.web.patients.urls")),
    path("visits/", include("trichotrack.web.followups.urls")),
    path("", include("trichotrack.web.consent.urls")),
    path("", include("trichotrack.web.procedures.urls")),
    path("", include("trichotrack.web.safety.urls")),
    path("reports/", include("trichotrack.web.reports.urls")),
    path("", include("trichotrack.web.photos.urls")),
    path("", include("trichotrack.web.portal.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
]
