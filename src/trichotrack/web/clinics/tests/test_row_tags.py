"""The long lists' rows written in Python (tt.patient_rows, tt.visit_rows) are the HTML the template loops
wrote before (kept here as the reference), for staff and for researchers; and the patient page's evidence
panel reads the rows the page has already loaded instead of querying them again (issue 3's load target)."""

import datetime as dt

from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from trichotrack.web.clinics.templatetags.tt import link
from trichotrack.web.followups.models import Visit
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.test import BaseTestCase, make_patient

# The loops of patients/list_results.html and includes/visits.html before the tags, as they were.
PATIENT_LOOP = """{% load tt %}{% for p in patients %}
<tr><td><a href="{{ p.get_absolute_url }}">{{ p.code }}</a></td>{% if can_identify %}\
<td>{{ p.full_name }}</td><td>{{ p.date_of_birth|date:"d M Y" }}</td>{% else %}<td>{% age p %}</td>\
{% endif %}\
<td>{{ p.get_sex_display }}</td><td>{% if can_identify %}{{ p.onset_date|date:"M Y"|default:"—" }}{% else %}\
{% when p.onset_date p %}{% endif %}</td></tr>
{% endfor %}"""
VISIT_LOOP = """{% load tt %}{% for v in visits %}
<tr><td><a href="{{ v.patient.get_absolute_url }}">{{ v.patient.code }}</a></td>
<td>{% if can_write %}<a href="{{ v.get_absolute_url }}">{{ v.get_kind_display }}</a>{% else %}\
{{ v.get_kind_display }}{% endif %}</td>
<td>{% when v.due_on v.patient %}</td><td>{% if can_identify %}{{ v.window_start|date:"d M" }} – \
{{ v.window_end|date:"d M Y" }}{% else %}{% when v.window_start v.patient %} to \
{% when v.window_end v.patient %}{% endif %}</td>
<td>{% with s=v|state_on:today %}<span class="badge {% if s == 'overdue' %}bad{% elif s == 'due' %}warn\
{% endif %}">{{ s }}</span>{% endwith %}</td></tr>
{% endfor %}"""


def render(source, **context):
    return engines["django"].from_string(source).render(context)


class RowTagTest(BaseTestCase):
    def setUp(self):
        today = timezone.localdate()
        self.odd = make_patient(
            self.clinic, 'A-<&">', given_name='<b>Zoë & "Q"</b>', onset_date=dt.date(2015, 9, 3)
        )
        treated = make_patient(self.clinic, "A-002", onset_date=None)
        procedure = self.make_procedure(treated)
        visits = list(procedure.visits.order_by("due_on"))
        Visit.objects.filter(pk=visits[0].pk).update(
            window_start=today - dt.timedelta(days=9), window_end=today - dt.timedelta(days=1)
        )  # overdue
        Visit.objects.filter(pk=visits[1].pk).update(
            window_start=today - dt.timedelta(days=2), window_end=today + dt.timedelta(days=2)
        )  # due
        Visit.objects.filter(pk=visits[2].pk).update(status="done")
        self.today = today

    def contexts(self):
        for can_identify in (True, False):
            for can_write in (True, False):
                yield {"can_identify": can_identify, "can_write": can_write, "today": self.today}

    def test_patient_rows_are_the_former_loop(self):
        for context in self.contexts():
            patients = list(self.clinic.patients.order_by("code"))  # fresh: first treatments not cached
            expected = render(PATIENT_LOOP, patients=patients, **context)
            patients = list(self.clinic.patients.order_by("code"))
            got = render("{% load tt %}{% patient_rows patients %}", patients=patients, **context)
            assert got == expected, context
        assert "&lt;b&gt;Zoë &amp; &quot;Q&quot;&lt;/b&gt;" in got or not context["can_identify"]
        staff = render("{% load tt %}{% patient_rows patients %}", patients=[self.odd], can_identify=True)
        assert "&lt;b&gt;Zoë &amp; &quot;Q&quot;&lt;/b&gt;" in staff and "Sep 2015" in staff
        assert "A-&lt;&amp;&quot;&gt;" in staff and "<b>" not in staff

    def test_visit_rows_are_the_former_loop(self):
        def visits():
            return list(Visit.objects.select_related("patient").order_by("due_on"))

        states = {v.state_on(self.today) for v in visits()}
        assert {"overdue", "due", "done", "upcoming"} <= states
        for context in self.contexts():
            expected = render(VISIT_LOOP, visits=visits(), **context)
            got = render("{% load tt %}{% visit_rows visits %}", visits=visits(), **context)
            assert got == expected, context
            assert ("day +" in got) != context["can_identify"]

    def test_the_pages_show_the_rows(self):
        self.login(self.bob)
        page = self.client.get(reverse("patients:list")).content.decode()
        assert f'<a href="{reverse("patients:detail", args=[self.odd.pk])}">A-&lt;&amp;&quot;&gt;</a>' in page
        assert (
            self.client.get(reverse("patients:list"), {"q": "nobody"})
            .content.decode()
            .count("No patient matches")
            == 1
        )
        dashboard = self.client.get(reverse("dashboard")).content.decode()
        assert '<span class="badge bad">overdue</span>' in dashboard
        assert '<span class="badge warn">due</span>' in dashboard


class EvidencePanelQueriesTest(BaseTestCase):
    def test_patient_page_reads_procedures_medications_and_adverse_events_once(self):
        procedure = self.make_procedure(self.patient)
        AdverseEvent.objects.create(
            patient=self.patient,
            procedure=procedure,
            term="headache",
            grade=1,
            expected=True,
            onset_on=timezone.localdate(),
            aware_on=timezone.localdate(),
        )
        self.patient.medications.create(
            name="Minoxidil", category="hair_loss", started_on=dt.date(2015, 1, 1)
        )
        self.login(self.bob)
        url = reverse("patients:detail", args=[self.patient.pk])
        with CaptureQueriesContext(connection) as queries:
            page = self.client.get(url).content.decode()
        # Not counted: the page's one query for which sections have rows (patients.views._present).
        selects = [
            q["sql"]
            for q in queries
            if q["sql"].startswith("SELECT") and not q["sql"].startswith("SELECT EXISTS")
        ]
        for table in ("procedures_procedure", "patients_medication", "safety_adverseevent"):
            reads = [sql for sql in selects if f'FROM "{table}"' in sql]
            assert len(reads) == 1, (table, reads)
        assert "Minoxidil" in page and "Headache" in page.replace("headache", "Headache")


def test_link_gives_what_reverse_gives():
    for name, args in [
        ("dashboard", ()),
        ("patients:detail", (7,)),
        ("patients:detail", (123456,)),
        ("patients:medication_stop", (12, 345)),
        ("consent:create", (9, "photo_publication")),
        ("consent:create", (10, "treatment")),
    ]:
        assert link(name, *args) == reverse(name, args=args), (name, args)


def test_link_follows_the_script_prefix():
    set_script_prefix("/clinic/")
    try:
        assert link("patients:detail", 5) == reverse("patients:detail", args=[5]) == "/clinic/patients/5/"
    finally:
        set_script_prefix("/")
    assert link("patients:detail", 5) == "/patients/5/"
