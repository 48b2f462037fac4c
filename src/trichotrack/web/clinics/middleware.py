from .models import Membership


class MembershipMiddleware:
    """Puts the signed-in user's clinic membership on ``request.membership`` (None if there is none)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        if request.user.is_authenticated:
            request.membership = Membership.objects.select_related("clinic").filter(user=request.user).first()
        return self.get_response(request)
