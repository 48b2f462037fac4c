"""Follow every link of the demo clinic as each role: no page may fail, whatever the data looks like."""

import re

import pytest

from trichotrack.web import demo
from trichotrack.web.clinics.models import Membership
from trichotrack.web.test import login_verified

HREF = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/admin/", "/accounts/logout/")
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
# A calendar date in any form the templates, str() of a model or a JSON field could write it.
DATE = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
    rf"|\b\d{{1,2}} {MONTH}(?![a-z])|\b{MONTH} \d{{1,4}}\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


def crawl(client, start, limit=600, pages=None):
    """Follow links from `start`; returns {url: status}, and fills `pages` with {url: text} if given."""
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
        if response.status_code == 200 and not response.streaming and pages is not None:
            pages[url] = response.content.decode(errors="replace")
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


def identifying_strings(clinic) -> set[str]:
    """Every patient's given and family name, and date of birth in the formats the app writes."""
    strings = set()
    for p in clinic.patients.all():
        strings |= {p.given_name, p.family_name, p.date_of_birth.isoformat()}
        strings.add(f"{p.date_of_birth:%d %b %Y}")
    return {s for s in strings if len(s) > 2}


def main_text(html: str) -> str:
    """The page's title and content, without the markup of its header (the signed-in user's name and
    clinic)."""
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    return (title.group(1) if title else "") + "\n" + html.split('<main id="main">', 1)[-1]


def test_the_researcher_never_gets_an_error_a_name_or_a_date(client, demo_clinic):
    researcher = Membership.objects.get(user__username="researcher").user
    login_verified(client, researcher)
    pages = {}
    statuses = crawl(client, "/dashboard/", pages=pages, limit=1000)
    assert 50 < len(statuses) < 1000, "every page a researcher can reach is checked"
    bad = {url: code for url, code in statuses.items() if code != 200 and url != "/"}
    assert not bad, "links shown to a researcher must open"
    names = identifying_strings(demo_clinic)
    assert "Casey" in names
    leaks = {}
    for url, text in pages.items():
        text = main_text(text)
        found_names = {n for n in names if re.search(rf"\b{n}\b", text)}  # names: everywhere, no exception
        dates = {m.group(0) for m in DATE.finditer(text)}
        found = sorted(dates | found_names)
        if found:
            leaks[url] = found[:8]
    assert not leaks, f"a researcher sees dates or names on {len(leaks)} pages: {leaks}"
    assert any("day +" in text for text in pages.values()), "dates are shown as days from the first treatment"


def test_the_patient_sees_the_portal(client, demo_clinic):
    login_verified(client, Membership.objects.get(user__username="patient").user)
    statuses = crawl(client, "/")
    assert statuses["/portal/"] == 200
    assert set(statuses.values()) <= {200, 302}
