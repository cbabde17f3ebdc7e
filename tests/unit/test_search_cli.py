"""`syncoxide search`'s own half: its options, one-line usage errors, and no service without a worker."""

from __future__ import annotations

import pytest

from syncoxide.cli.quick import scan as scan_cli
from syncoxide.cli.quick import search as search_cli
from syncoxide.cli.quick import worker_socket


def test_options_become_the_request_the_catalog_takes(tmp_path, monkeypatch):
    from syncoxide.catalog.search_request import SearchRequest

    monkeypatch.chdir(tmp_path)
    argv = [
        "taxes",
        "--ext",
        "pdf",
        "--ext",
        "PDF",
        "--min-size",
        "1M",
        "--in",
        "snapshots",
        "--repo",
        "home",
        "--limit",
        "5",
        "--json",
    ]
    request, as_json = search_cli.request_from(argv)
    assert as_json is True
    parsed = SearchRequest.model_validate(request)
    assert (parsed.text, parsed.ext, parsed.min_size, parsed.where, parsed.repo, parsed.limit, parsed.cwd) == (
        "taxes",
        ["pdf", "PDF"],
        "1M",
        "snapshots",
        ["home"],
        5,
        str(tmp_path),
    )
    assert set(request) - {"cwd"} == set(SearchRequest.model_fields) - {"cwd"}


def test_a_usage_error_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        search_cli.request_from(["--limit", "lots"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["error: search: argument --limit: invalid int value: 'lots'"]


def test_without_a_worker_there_is_no_quick_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNCOXIDE_HOME", str(tmp_path))
    assert search_cli.quick(["anything"]) is None
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "catalog.sock").write_text("not a socket")  # a stale file is not a service either
    assert worker_socket.ask({"text": "x"}) is None


def test_the_scan_request_carries_the_callers_folder_and_bad_options_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    request, as_json = scan_cli.request_from(["./photos", "--one-file-system", "--json"])
    assert request == {"op": "scan", "source": "./photos", "one_file_system": True, "cwd": str(tmp_path)}
    assert as_json
    from workers.scan_service import ScanServiceRequest

    assert ScanServiceRequest.model_validate(request).source == "./photos"
    with pytest.raises(SystemExit) as stopped:
        scan_cli.request_from(["a", "b"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["error: scan: unrecognized arguments: b"]
    monkeypatch.setenv("SYNCOXIDE_HOME", str(tmp_path))
    assert scan_cli.quick(["anything"]) is None  # no worker: the full CLI runs the scan


def test_a_worker_that_answers_a_scan_as_a_search_is_named_as_too_old(tmp_path, monkeypatch, capsys):
    import socket
    import threading

    monkeypatch.setenv("SYNCOXIDE_HOME", str(tmp_path))
    (tmp_path / "run").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "run" / "catalog.sock"))
    server.listen(1)

    def old_worker() -> None:  # what a worker from before scans went through the socket answers
        conn, _ = server.accept()
        with conn:
            conn.makefile("rb").readline()
            conn.sendall(b'{"hits": []}\n')

    threading.Thread(target=old_worker, daemon=True).start()
    assert scan_cli.quick(["somewhere", "--json"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: the worker on this data dir does not run scans: restart it (it is older than this syncoxide)"
    ]
    server.close()
