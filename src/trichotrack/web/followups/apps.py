from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "trichotrack.web.followups"
    label = "followups"
    verbose_name = "Follow-up visits"
