"""One typed Settings object (pydantic-settings). SQLite is the default database."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from the environment (DIGIDEN_*)."""

    model_config = SettingsConfigDict(env_prefix="DIGIDEN_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="where the SQLite file lives")
    database_url: str | None = Field(default=None, description="overrides the SQLite default")
    env: str = Field(default="development")
    actor: str = Field(default="cli", description="who the CLI records as the author")
    max_upload_mb: int = Field(default=200, description="largest file the web app accepts")
    operator: str = Field(default="", description="who runs this site, shown on /about (e.g. ○○県デジタル推進課)")
    contact: str = Field(default="", description="where to report an error in a figure, shown on /about "
                                                 "(an e-mail address or a URL)")
    secure_cookies: bool | None = Field(
        default=None, description="mark cookies Secure: true behind a TLS proxy; unset = when the request is HTTPS")
    user: str | None = Field(default=None, description="the CLI acts as this account (else as an administrator)")
    threads: int | None = Field(
        default=None, ge=2, le=256,
        description="requests one server process works on at once (its thread pool, 2-256); unset = "
                    "4 per core, at least 8 (web/threads.py)")

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'digiden.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
