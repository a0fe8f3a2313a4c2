"""Where the printed PDFs and scans of each case are kept: beside the store, one folder per case.

Every document or attachment path is built by :func:`inside`, which takes plain names only and
refuses whatever would land outside its folder. Names arrive from other sites (a case number,
an attachment's file name, by bundle or from central): they are checked by their pattern at
that boundary (:mod:`shebao_desk.models.limits`), and checked again here, where they become paths.
"""

from __future__ import annotations

from pathlib import Path

from shebao_desk.errors import ValidationError
from shebao_desk.models.limits import path_name_problem


def inside(folder: Path, *names: str) -> Path:
    """``folder / name / …`` for plain names (no separator, no ``..``, no drive), never outside ``folder``."""
    path = folder
    for name in names:
        problem = path_name_problem(name)
        if problem:
            raise ValidationError(f"文件名“{name[:40]}”不合规（{problem}），未写入任何文件",
                                  f"path name {name!r} under {folder}: {problem}")
        path = path / name
    base = folder.resolve()
    if not path.resolve().is_relative_to(base):  # a symlink planted inside the folder
        raise ValidationError("文件路径指向文件夹之外，未写入任何文件", f"{path} resolves outside {base}")
    return path


def documents_root(store_path: Path) -> Path:
    return store_path.parent / f"{store_path.stem}-documents"


def case_folder(store_path: Path, case_number: str) -> Path:
    return inside(documents_root(store_path), case_number)


def draft_path(store_path: Path, name: str) -> Path:
    return inside(store_path.parent / f"{store_path.stem}-drafts", f"{name}.json")
