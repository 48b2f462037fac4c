"""Follow every link of the demo clinic as each role: no page may fail, whatever the data looks like."""

import re

import pytest

from trichotrack.web import demo
from trichotrack.web.clinics.models import Membership
from trichotrack.web.test import login_verified

HREF = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/admin/", "/accounts/logout/")


def crawl(client, start, limit=600):
    seen, queue, statuses = set(), [start], {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP) or url.endswith(".pdf"):  # PDFs: tested in consent/tests
            continue
        seen.add(url)
        response = client.get(url)
        if response.streaming:  # a download (a photo's original): read it so that the file is closed
            b"".join(response.streaming_content)
        statuses[url] = response.status_code
        if response.status_code == 302:
            queue.append(response["Location"])
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            queue.extend(HREF.findall(response.content.decode()))
    return statuses


@pytest.fixture
def demo_clinic(db):
    return demo.load()


@pytest.mark.parametrize("username", ["demo"])
def test_staff_can_open_every_page_of_the_demo(client, demo_clinic, username):
    login_verified(client, Membership.objects.get(user__username=username).user)
    statuses = crawl(client, "/dashboard/")
    assert len(statuses) > 100
    bad = {url: code for url, code in statuses.items() if code != 200 and url != "/"}
    assert not bad


def test_the_researcher_never_gets_an_error_nor_a_name(client, demo_clinic):
    researcher = Membership.objects.get(user__username="researcher").user
    login_verified(client, researcher)
    statuses = crawl(client, "/dashboard/")
    assert len(statuses) > 50
    bad = {url: code for url, code in statuses.items() if code != 200 and url != "/"}
    assert not bad, "links shown to a researcher must open"
    for url in list(statuses)[:80]:
        assert b"Casey" not in client.get(url).content, url


def test_the_patient_sees_the_portal(client, demo_clinic):
    login_verified(client, Membership.objects.get(user__username="patient").user)
    statuses = crawl(client, "/")
    assert statuses["/portal/"] == 200
    assert set(statuses.values()) <= {200, 302}
