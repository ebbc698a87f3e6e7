"""Result folders that appear complete or not at all."""

import os
import shutil
from pathlib import Path
from types import TracebackType

_PARTIAL = ".partial-"


class AtomicDirectory:
    """Stage a folder beside ``target`` and move it into place only when the block succeeds.

    A failed block removes its staging folder; a killed process leaves only a hidden
    ``.<name>.partial-<pid>`` folder, which the next run for the same target removes. An existing
    ``target`` is replaced only by a complete new one, and only with ``replace``; without it a
    ``target`` that appeared meanwhile is left as it is and the block fails with FileExistsError.
    """

    def __init__(self, target: Path, *, replace: bool = True) -> None:
        self.target = target.resolve()
        self.replace = replace
        self.staging = self.target.parent / f".{self.target.name}{_PARTIAL}{os.getpid()}"

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned()
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        return self.staging

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        if not self.replace and (self.target.exists() or self.target.is_symlink()):
            shutil.rmtree(self.staging, ignore_errors=True)
            raise FileExistsError(f"{self.target} appeared while the run was being written")
        previous = self.target.parent / f".{self.target.name}.previous-{os.getpid()}"
        if self.target.exists():
            self.target.rename(previous)
        self.staging.rename(self.target)
        shutil.rmtree(previous, ignore_errors=True)

    def _remove_abandoned(self) -> None:
        """Staging folders of runs for this target whose process is gone."""
        for staging in self.target.parent.glob(f".{self.target.name}{_PARTIAL}*"):
            pid = staging.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(staging, ignore_errors=True)


def share_like_new_files(path: Path) -> None:
    """Give a file or folder made by ``tempfile`` (mode 0600 or 0700) the mode a plain
    ``open``/``mkdir`` would have given it under the process' umask, so teammates can read it."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
