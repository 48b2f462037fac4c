"""`trichotrack export FORMAT --out DIR [--deidentified] [--clinic X]` through the CLI's main()."""

import csv
import io

import pytest

from trichotrack.cli import build_parser, main
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.clinics.models import Clinic
from trichotrack.web.reports.cli_common import ProgressBar
from trichotrack.web.reports.export_cli import run_export
from trichotrack.web.test import make_patient


@pytest.fixture
def data_dir(monkeypatch, tmp_path, settings):
    settings.SECRET_KEY = "k" * 60  # Django is set up already: _prepare()'s key would come too late
    monkeypatch.setenv("TRICHOTRACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return tmp_path


@pytest.fixture
def clinic(db):
    clinic = Clinic.objects.create(name="North Clinic")
    make_patient(clinic, "N-001", given_name="Nora")
    return clinic


def test_it_exports_the_only_clinic_and_prints_the_files(data_dir, clinic, capsys):
    out = data_dir / "out"
    assert main(["export", "csv", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "North Clinic: identified csv export of 1 patients" in printed
    assert str(out / "patients.csv") in printed and str(out / "codebook.md") in printed
    with (out / "patients.csv").open() as handle:
        assert [r["patient_code"] for r in csv.DictReader(handle)] == ["N-001"]
    event = AuditEvent.objects.get(action="export.created")
    assert event.actor is None and event.data["via"].startswith("cli:") and event.data["patients"] == 1


def test_deidentified_leaves_out_patients_without_research_consent(data_dir, clinic, capsys):
    assert main(["export", "parquet", "--out", str(data_dir / "o"), "--deidentified"]) == 0
    assert "de-identified parquet export of 0 patients; 1 left out" in capsys.readouterr().out


def test_the_clinic_is_chosen_by_id_or_name(data_dir, clinic, capsys):
    other = Clinic.objects.create(name="South Clinic")
    make_patient(other, "S-001")
    assert main(["export", "fhir", "--out", str(data_dir / "a"), "--clinic", "south clinic"]) == 0
    assert "South Clinic:" in capsys.readouterr().out
    assert main(["export", "stata", "--out", str(data_dir / "b"), "--clinic", str(clinic.pk)]) == 0
    assert "North Clinic:" in capsys.readouterr().out
    assert (data_dir / "b" / "patients.dta").exists()


def test_several_clinics_without_clinic_is_exit_2(data_dir, clinic, capsys):
    Clinic.objects.create(name="South Clinic")
    assert main(["export", "csv", "--out", str(data_dir / "o")]) == 2
    err = capsys.readouterr().err
    assert "several clinics; choose one with --clinic" in err and "North Clinic" in err
    assert not (data_dir / "o").exists()


def test_an_unknown_clinic_is_exit_2(data_dir, clinic, capsys):
    assert main(["export", "spss", "--out", str(data_dir / "o"), "--clinic", "Nowhere"]) == 2
    assert capsys.readouterr().err.strip() == "trichotrack: error: no clinic with id or name 'Nowhere'"


def test_an_out_path_that_is_a_file_is_exit_2(data_dir, clinic, capsys):
    target = data_dir / "file.txt"
    target.write_text("x")
    assert main(["export", "csv", "--out", str(target)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_an_unknown_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "xlsx", "--out", "x"])
    assert exit_info.value.code == 2


def test_an_empty_database_is_exit_2(data_dir, db, capsys):
    assert main(["export", "csv", "--out", str(data_dir / "o")]) == 2
    assert "the database holds no clinic" in capsys.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar_on_stderr_and_stdout_stays_clean(data_dir, clinic):
    out, err = io.StringIO(), FakeTerminal()
    args = build_parser().parse_args(["export", "spss", "--out", str(data_dir / "o")])
    assert run_export(args, out=out, err=err) == 0
    bar = err.getvalue()
    assert bar.startswith("\r[") and bar.endswith("\n") and bar.count("\n") == 1
    assert "] 100% done" in bar and "choosing the patients" in bar
    assert out.getvalue().startswith("North Clinic: identified spss export") and "\r" not in out.getvalue()


def test_no_progress_bar_when_stderr_is_not_a_terminal(data_dir, clinic, capsys):
    assert main(["export", "csv", "--out", str(data_dir / "o")]) == 0
    assert capsys.readouterr().err == ""
    quiet = io.StringIO()
    bar = ProgressBar(quiet)
    bar("measurements: patient 1 / 2", 0.5)
    bar.close()
    assert quiet.getvalue() == ""


def test_the_progress_bar_is_throttled_but_always_shows_the_end():
    err = FakeTerminal()
    bar = ProgressBar(err, seconds=60)
    bar("first", 0.1)
    bar("skipped", 0.5)
    bar("done", 1.0)
    bar.close()
    drawn = err.getvalue()
    assert "first" in drawn and "skipped" not in drawn and "] 100% done" in drawn
    assert "[##" in drawn.split("\r")[-1]
