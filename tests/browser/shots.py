"""Screenshots a browser test saves for people to look at, into the folder an environment
variable names (none: no screenshot)."""

import os
from pathlib import Path


def shot(page, name: str, *, folder_env: str, full: bool = True) -> None:
    folder = os.environ.get(folder_env)
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full)
