"""Compare both sides by hash and report the differences (like ``rclone check``); changes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pydantic import BaseModel, Field, computed_field

from syncoxide.config import Settings
from syncoxide.providers import ProviderSpec, open_provider
from syncoxide.sync.compare import same_content
from syncoxide.sync.filters import FileFilter
from syncoxide.sync.listing import list_side
from syncoxide.sync.models import Filters


class CheckReport(BaseModel):
    source: str
    destination: str
    matching: int = 0
    differ: list[str] = Field(default_factory=list)
    only_source: list[str] = Field(default_factory=list)
    only_destination: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form: computed_field over property
    @property
    def clean(self) -> bool:
        return not (self.differ or self.only_source or self.only_destination or self.errors)


def check(
    settings: Settings,
    source: ProviderSpec,
    destination: ProviderSpec,
    filters: Filters | None = None,
    *,
    threads: int = 4,
    backup_dir: str | None = None,
) -> CheckReport:
    file_filter = FileFilter(filters or Filters(), datetime.now(UTC), backup_dir)
    with open_provider(source, settings) as src, open_provider(destination, settings) as dst:
        left, right = list_side(src, file_filter), list_side(dst, file_filter)
        report = CheckReport(
            source=src.display,
            destination=dst.display,
            only_source=sorted(set(left.files) - set(right.files)),
            only_destination=sorted(set(right.files) - set(left.files)),
        )
        both = sorted(set(left.files) & set(right.files))
        shared_ok = not (src.capabilities.connection_per_thread or dst.capabilities.connection_per_thread)

        def compare(path: str) -> tuple[str, bool | None, str | None]:
            try:
                same, _ = same_content(src, left.files[path], dst, right.files[path])
                return path, same, None
            except Exception as exc:  # noqa: BLE001 - reported per file
                return path, None, str(exc)

        if shared_ok and threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                outcomes = list(pool.map(compare, both))
        else:
            outcomes = [compare(p) for p in both]
    for path, same, error in outcomes:
        if error:
            report.errors.append(f"{path}: {error}")
        elif same:
            report.matching += 1
        else:
            report.differ.append(path)
    return report
