"""The clinic web app (Django 6.1): patients, versioned consent, SVF + PRP procedures, follow-up, adverse
events and an immutable audit trail.

Run it with ``trichotrack serve [--port N]`` (see ``commands.serve``); settings come from the environment
(``settings.py`` lists the variables). Tests: ``pytest src/trichotrack/web``, and again with
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/trichotrack`` for PostgreSQL.
"""
