"""Where the printed PDFs of each case are kept: beside the store, one folder per case."""

from __future__ import annotations

from pathlib import Path


def case_folder(store_path: Path, case_number: str) -> Path:
    return store_path.parent / f"{store_path.stem}-documents" / case_number


def draft_path(store_path: Path, name: str) -> Path:
    return store_path.parent / f"{store_path.stem}-drafts" / f"{name}.json"
