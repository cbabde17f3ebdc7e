"""The private umask (fs/modes.py): the data dir and what is made in it are the owner's alone; what lands in
the user's places keeps the user's umask. Each case runs in a child process: a umask is process-wide."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def in_child(code: str, *, home: Path, umask: int = 0o022, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` after go_private() in a fresh interpreter started with ``umask``; it prints JSON."""
    script = "import json, os, sys\nfrom pathlib import Path\nfrom syncoxide.fs import modes\nmodes.go_private()\n"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCOXIDE_")}
    child_env.update({"SYNCOXIDE_HOME": str(home), **(env or {})})
    done = subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(code)],
        env=child_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(umask),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_go_private_sets_077_and_what_is_made_in_the_data_dir_is_private(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    seen = in_child(
        """
        home = Path(os.environ["SYNCOXIDE_HOME"])
        (home / "logs").mkdir()
        (home / "logs" / "worker.log").write_text("x")
        os.system(f"touch {home}/by-a-child")
        print(json.dumps({"umask": modes.current_umask(), "user": modes.user_umask(),
                          "recorded": os.environ[modes.USER_UMASK_ENV]}))
    """,
        home=home,
    )
    assert seen == {"umask": 0o077, "user": 0o022, "recorded": "0022"}
    assert mode(home) == 0o700
    assert mode(home / "logs") == 0o700
    assert mode(home / "logs" / "worker.log") == 0o600
    assert mode(home / "by-a-child") == 0o600  # children inherit the umask


def test_a_stricter_user_umask_stays(tmp_path):
    seen = in_child("print(json.dumps({'umask': modes.current_umask()}))", home=tmp_path / "none", umask=0o277)
    assert seen["umask"] == 0o277


def test_contents_from_before_are_tightened_once(tmp_path):
    home = tmp_path / "home"
    (home / "catalog" / "part").mkdir(parents=True)
    for folder in (home, home / "catalog", home / "catalog" / "part"):
        os.chmod(folder, 0o755)
    old = home / "catalog" / "part" / "0.parquet"
    old.write_bytes(b"PAR1")
    os.chmod(old, 0o644)
    os.symlink("/etc/passwd", home / "catalog" / "link")
    (home / "temporal.db-wal").write_bytes(b"")
    os.chmod(home / "temporal.db-wal", 0o644)
    (home / "notes.txt").write_text("kept beside the data, not syncoxide's")
    os.chmod(home / "notes.txt", 0o644)
    in_child("print('{}')", home=home)
    assert mode(home) == 0o700
    assert mode(home / "catalog") == mode(home / "catalog" / "part") == 0o700
    assert mode(old) == mode(home / "temporal.db-wal") == 0o600
    assert mode(home / "notes.txt") == 0o644  # only what syncoxide itself puts there
    assert mode(Path("/etc/passwd")) == 0o644  # a symlink is never followed
    assert (home / ".private").exists()
    os.chmod(old, 0o644)  # done once: not walked again (only the data dir itself is checked each start)
    os.chmod(home, 0o755)
    in_child("print('{}')", home=home)
    assert mode(home) == 0o700
    assert mode(old) == 0o644


def test_a_data_dir_that_is_the_users_home_is_left_as_it_is(tmp_path):
    home = tmp_path / "me"
    (home / "logs").mkdir(parents=True)
    os.chmod(home, 0o755)
    os.chmod(home / "logs", 0o755)
    in_child("print('{}')", home=home, env={"HOME": str(home)})
    assert mode(home) == mode(home / "logs") == 0o755
    assert not (home / ".private").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder of another user inside the data dir needs root")
def test_a_folder_of_another_user_inside_leaves_the_data_dir_passable(tmp_path):
    home = tmp_path / "home"
    (home / "postgres").mkdir(parents=True)
    os.chown(home / "postgres", 65534, 65534)
    os.chmod(home, 0o755)
    in_child("print('{}')", home=home)
    assert mode(home) == 0o711  # its owner may pass through to its folder, nobody may list


def test_the_users_places_get_the_users_umask(tmp_path):
    """A sync destination (the local provider), a restore target, and what a hook writes: as if syncoxide had
    kept the user's umask; the data dir's staging stays 0700."""
    dest = tmp_path / "dest"
    dest.mkdir()
    seen = in_child(
        f"""
        import io
        from syncoxide.providers.local import LocalProvider
        from syncoxide.backups.placement import fresh_staging
        from syncoxide.backups.hooks import run_hooks
        p = LocalProvider(Path({str(dest)!r}))
        p.mkdir("a/b")
        p.write("a/b/file.txt", io.BytesIO(b"hello"), size=5)
        staging = fresh_staging(Path({str(tmp_path / "restore" / "here")!r}), "run1")
        run_hooks("before", ["umask > {tmp_path}/hook-umask; echo > {tmp_path}/by-hook"], timeout_s=30)
        print(json.dumps({{"staging": oct(os.stat(staging).st_mode & 0o777)}}))
    """,
        home=tmp_path / "home",
    )
    assert mode(dest / "a") == mode(dest / "a" / "b") == 0o755
    assert mode(dest / "a" / "b" / "file.txt") == 0o644
    assert mode(tmp_path / "restore") == mode(tmp_path / "restore" / "here") == 0o755
    assert seen["staging"] == "0o700"
    assert (tmp_path / "hook-umask").read_text().strip() == "0022"
    assert mode(tmp_path / "by-hook") == 0o644


def test_rclone_writes_a_local_destination_with_the_users_umask(tmp_path):
    from syncoxide.config import TOOLS_DIR

    rclone = TOOLS_DIR / "rclone"
    if not rclone.exists():
        pytest.fail("rclone is not built: run `make setup`")
    dest = tmp_path / "dest"
    dest.mkdir()
    in_child(
        f"""
        import io
        from syncoxide.providers.rclone import RcloneProvider
        p = RcloneProvider("rclone", {str(rclone)!r}, {str(dest)!r}, dict(os.environ), [], [])
        p.write("a/file.txt", io.BytesIO(b"hello"), size=5)
        print("{{}}")
    """,
        home=tmp_path / "home",
    )
    assert mode(dest / "a") == 0o755
    assert mode(dest / "a" / "file.txt") == 0o644


def test_a_child_syncoxide_takes_the_recorded_umask_not_the_private_one(tmp_path):
    """The worker `dev up` starts inherits umask 077; SYNCOXIDE_USER_UMASK tells it what the user's was."""
    seen = in_child(
        "print(json.dumps({'user': modes.user_umask(), 'umask': modes.current_umask()}))",
        home=tmp_path / "none",
        umask=0o077,
        env={"SYNCOXIDE_USER_UMASK": "0002"},
    )
    assert seen == {"user": 0o002, "umask": 0o077}
