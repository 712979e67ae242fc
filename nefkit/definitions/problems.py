"""A problem found in an instrument definition, located precisely enough to fix it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Problem(BaseModel):
    file: str
    where: str = ""
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f": {self.where}" if self.where else ""
        return f"{self.file}{where}: {self.message}"
