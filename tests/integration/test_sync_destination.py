"""A sync into a destination folder that does not exist yet creates it (like rclone), on every provider;
a dry run plans against it as empty and creates nothing; a bisync with a baseline does not re-create a
side that went missing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncoxide.providers import ProviderNotFound, ProviderSpec, open_provider
from syncoxide.sync import Mode, SyncOptions, SyncRequest, run_sync
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker
from tests.integration.test_provider_contract import KINDS, Case, case_builder  # noqa: F401 - a fixture

pytestmark = pytest.mark.parametrize("kind", KINDS)


@pytest.fixture()
def place(case_builder: Callable[[str], Case], kind: str) -> Case:  # noqa: F811 - the contract suite's fixture
    return case_builder(kind)


def below(spec: ProviderSpec, rest: str) -> ProviderSpec:
    return spec.model_copy(update={"location": f"{spec.location.rstrip('/')}/{rest}"})


def test_a_missing_destination_folder_is_created(sync_settings, make_side: SideMaker, place: Case):
    src = make_side("local", "src")
    src.write("a.txt", b"alpha")
    src.write("docs/b.txt", b"bravo")
    parent = place.make(f"dest-{src.root.name}")
    destination = below(parent, "new folder/deeper")
    dry = run_sync(
        sync_settings,
        SyncRequest(source=src.spec, destination=destination, mode=Mode.sync, options=SyncOptions(dry_run=True)),
    )
    assert sorted(a.path for a in dry.plan.actions if a.kind.value == "copy") == ["a.txt", "docs/b.txt"]
    with open_provider(parent, sync_settings) as there:
        assert not there.exists("new folder")

    done = run_sync(sync_settings, SyncRequest(source=src.spec, destination=destination, mode=Mode.sync))
    assert done.errors == [] and done.transferred_files == 2
    with open_provider(destination, sync_settings) as provider:
        assert provider.read_bytes("a.txt") == b"alpha" and provider.read_bytes("docs/b.txt") == b"bravo"


def test_bisync_does_not_recreate_a_side_that_went_missing(sync_settings, make_side: SideMaker, place: Case, kind: str):
    if kind in ("s3", "rclone-s3"):
        pytest.skip("an S3 prefix is never missing: it is there as soon as a key is")
    src = make_side("local", "src")
    src.write("a.txt", b"alpha")
    parent = place.make(f"bi-{src.root.name}")
    request = SyncRequest(
        source=src.spec,
        destination=below(parent, "gone"),
        mode=Mode.bisync,
        pair=f"bi-{src.root.name}-{kind}",
        options=SyncOptions(resync=True),
    )
    assert run_sync(sync_settings, request).errors == []
    with open_provider(parent, sync_settings) as provider:
        provider.delete("gone/a.txt")
        provider.rmdir("gone")
    with pytest.raises(ProviderNotFound):
        run_sync(sync_settings, request.model_copy(update={"options": SyncOptions()}))
    assert src.read("a.txt") == b"alpha"
