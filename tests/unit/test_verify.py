from __future__ import annotations

import os
import stat

from syncoxide.backups.verify import under, verify_restore
from syncoxide.models import FileRecord, FileType


def record_of(path, logical: str) -> FileRecord:
    st = os.lstat(path)
    kind = FileType.symlink if stat.S_ISLNK(st.st_mode) else FileType.dir if stat.S_ISDIR(st.st_mode) else FileType.file
    return FileRecord(path=logical, type=kind, size=st.st_size, mtime_ns=st.st_mtime_ns, mode=stat.S_IMODE(st.st_mode))


def test_a_faithful_restore_verifies(tmp_path):
    (tmp_path / "src").mkdir()
    f = tmp_path / "src" / "f.txt"
    f.write_text("hello")
    records = [record_of(tmp_path / "src", "/src"), record_of(f, "/src/f.txt")]
    report = verify_restore(records, under(tmp_path))
    assert report.ok and report.checked == 2 and report.files == 1 and report.bytes == 5


def test_each_kind_of_difference_is_reported(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("hello")
    good = record_of(f, "/f.txt")
    records = [
        good.model_copy(update={"size": 6}),
        good.model_copy(update={"mode": 0o600 if good.mode != 0o600 else 0o644}),
        good.model_copy(update={"mtime_ns": good.mtime_ns + 5_000}),
        good.model_copy(update={"type": FileType.symlink}),
        FileRecord(path="/gone.txt", type=FileType.file),
    ]
    report = verify_restore(records, under(tmp_path))
    assert report.problem_count == 5
    text = "\n".join(report.problems)
    for fragment in ("size 5, snapshot has 6", "mode", "mtime differs", "is a file, snapshot has a symlink", "missing"):
        assert fragment in text


def test_sub_microsecond_mtime_rounding_is_tolerated(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    rounded = record_of(f, "/f.txt")
    rounded = rounded.model_copy(update={"mtime_ns": round(rounded.mtime_ns, -3)})
    assert verify_restore([rounded], under(tmp_path)).ok


def test_a_name_a_listing_shows_with_question_marks_is_found_unless_two_read_alike(tmp_path):
    top = os.fsencode(tmp_path)
    os.mkdir(os.path.join(top, b"dir-\xff"))
    one = os.path.join(top, b"dir-\xff", b"caf\xe9.txt")
    with open(one, "wb") as out:
        out.write(b"x")
    listed = record_of(one, "/dir-?/caf?.txt")  # what borg 1.4 lists for it
    assert verify_restore([listed], under(tmp_path)).ok
    with open(os.path.join(top, b"dir-\xff", b"caf\xe8.txt"), "wb") as out:
        out.write(b"y")  # now two names read 'caf?.txt': nothing is guessed
    report = verify_restore([listed], under(tmp_path))
    assert report.problems == ["/dir-?/caf?.txt: missing"]
