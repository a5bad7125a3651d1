"""Development secrets, created by an explicit step: `gosreg secrets` (the stack runs it).

Settings only read secrets. A machine without configured ones (GOSREG_CODE_SECRET,
GOSREG_TOKEN_PEPPER, GOSREG_CODEC_KEYS) keeps generated ones in its data directory, mode
0600. Production configures them and never runs this.
"""

from __future__ import annotations

import os
import secrets

from codec.keys import create_keyring_file
from settings import KEYRING_FILE, SECRET_FILES, Settings


def create_local_secrets(settings: Settings) -> list[str]:
    """Create the secrets that are neither configured nor kept yet; the names created. Runs
    safely alongside another process doing the same: the first file written wins."""
    created = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configured = {"code_secret": settings.code_secret, "token_pepper": settings.token_pepper}
    for name, file_name in SECRET_FILES.items():
        path = settings.data_dir / file_name
        if configured[name] is not None or path.exists():
            continue
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
        created.append(name)
    if settings.codec_keys is None and create_keyring_file(settings.data_dir / KEYRING_FILE):
        created.append("codec_keys")
    return created
