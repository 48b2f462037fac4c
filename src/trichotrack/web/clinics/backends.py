"""The authentication backend: Django's ModelBackend, whose ``get_user`` (run on every signed-in request)
also loads the user's clinic membership and clinic, in one hand-written SELECT (trichotrack.web.rawsql).

Through the ORM the user and then the membership with its clinic were two queries and about 950 µs of CPU
on every page; this one costs under 100 µs. Access checks are unchanged: MembershipMiddleware puts the same
membership on ``request.membership``, and Django still verifies the session's password hash against the
user loaded here.
"""

from django.contrib.auth import backends, get_user_model
from django.db import connections, router

from trichotrack.web import rawsql

from .models import Clinic, Membership

_SQL: dict[str, str] = {}  # connection vendor → the SELECT


def _user_sql(connection) -> str:
    """The user, their membership and its clinic: every column of each (from the models), in that order."""
    if connection.vendor not in _SQL:
        User = get_user_model()

        def table(model):
            return connection.ops.quote_name(model._meta.db_table)

        _SQL[connection.vendor] = (
            f"SELECT {rawsql.columns(User, 'u', connection)}, {rawsql.columns(Membership, 'm', connection)}, "
            f"{rawsql.columns(Clinic, 'c', connection)} "
            f"FROM {table(User)} u "
            f"LEFT OUTER JOIN {table(Membership)} m ON m.user_id = u.id "
            f"LEFT OUTER JOIN {table(Clinic)} c ON c.id = m.clinic_id "
            "WHERE u.id = %s"
        )
    return _SQL[connection.vendor]


def load_user(user_id):
    """The user with `user_id` and, cached on it, ``user.membership`` and its ``clinic`` (None if missing)."""
    User = get_user_model()
    connection = connections[router.db_for_read(User)]
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(connection), [User._meta.pk.get_db_prep_value(user_id, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    n_user, n_membership = len(User._meta.concrete_fields), len(Membership._meta.concrete_fields)
    user = rawsql.build(User, "u", connection, row[:n_user])
    membership = rawsql.build(Membership, "m", connection, row[n_user : n_user + n_membership])
    # With None cached, user.membership raises RelatedObjectDoesNotExist without a query, as after
    # select_related("membership").
    User.membership.related.set_cached_value(user, membership)
    if membership is not None:
        Membership.user.field.set_cached_value(membership, user)
        clinic = rawsql.build(Clinic, "c", connection, row[n_user + n_membership :])
        Membership.clinic.field.set_cached_value(membership, clinic)
    return user


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
