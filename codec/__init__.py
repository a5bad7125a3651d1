"""Encryption of everything this service hands to Temporal, and the keys it takes.

- `codec.keys`: the keyring (AES-256 keys by id, one active), its JSON form, rotation, and
  the development ring generated into the data directory.
- `codec.encryption`: the payload codec and `data_converter`, which every client and worker
  uses, so that Temporal stores only ciphertext.
- `codec.server`: Temporal's remote codec protocol over HTTP, so that the Web UI and the
  `temporal` CLI show decrypted payloads to authenticated support staff
  (`python -m codec`). Not imported here: it depends on the settings, which depend on
  `codec.keys`.
"""

from codec.encryption import DecryptionError, EncryptionCodec, data_converter
from codec.keys import Keyring, create_keyring_file, load_keyring, rotate_keyring_file

__all__ = [
    "DecryptionError",
    "EncryptionCodec",
    "Keyring",
    "create_keyring_file",
    "data_converter",
    "load_keyring",
    "rotate_keyring_file",
]
