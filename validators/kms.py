"""Checks of the root volume's KMS key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pcimage.engine import Finding, Level, ValidationContext

from .awscalls import call, client
from .base import dig, run_isolated

KMS_KEY_ID_PATH = ("Image", "RootVolume", "KmsKeyId")


class KmsKeyIdEncryptedValidator:
    """Rejects a KMS key on a root volume that is not encrypted (Encrypted defaults to false)."""

    type = "KmsKeyIdEncryptedValidator"
    needs_aws = False

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        key_id = dig(config, "Image", "RootVolume", "KmsKeyId")
        if key_id and not dig(config, "Image", "RootVolume", "Encrypted"):
            yield Finding(
                Level.ERROR,
                f"Kms Key Id {key_id} is specified, the encrypted state must be True.",
                KMS_KEY_ID_PATH,
            )


class KmsKeyValidator:
    """Checks with KMS DescribeKey that the root volume's key exists and can be read."""

    type = "KmsKeyValidator"
    needs_aws = True

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> list[Finding]:
        key_id = dig(config, "Image", "RootVolume", "KmsKeyId")
        if not key_id:
            return []

        def check() -> list[Finding]:
            call(client(context, "kms"), "describe_key", KeyId=key_id)
            return []

        # Every AWS error becomes an ERROR with the service's text, so no separate except is needed.
        return run_isolated(check, KMS_KEY_ID_PATH, self.type)
