"""KmsKeyIdEncryptedValidator and KmsKeyValidator on the root volume key."""

from __future__ import annotations

from pcimage.engine import Finding, Level
from pcimage.validators.kms import KmsKeyIdEncryptedValidator, KmsKeyValidator

KEY_PATH = ("Image", "RootVolume", "KmsKeyId")


def root_volume(make_config, **volume):
    return make_config(Image={"RootVolume": {"Encrypted": False, **volume}})


def test_key_on_unencrypted_volume_rejected(make_config, context, world):
    config = root_volume(make_config, KmsKeyId=world["KMS_KEY_ID"])

    findings = list(KmsKeyIdEncryptedValidator().validate(config, context))

    assert findings == [
        Finding(
            Level.ERROR,
            f"Kms Key Id {world['KMS_KEY_ID']} is specified, the encrypted state must be True.",
            KEY_PATH,
        )
    ]


def test_key_on_encrypted_volume_accepted(make_config, context, world):
    config = root_volume(make_config, KmsKeyId=world["KMS_KEY_ID"], Encrypted=True)

    assert list(KmsKeyIdEncryptedValidator().validate(config, context)) == []


def test_encrypted_check_without_key_silent(make_config, context):
    assert list(KmsKeyIdEncryptedValidator().validate(root_volume(make_config, Size=40), context)) == []
    assert list(KmsKeyIdEncryptedValidator().validate(make_config(), context)) == []


def test_existing_key_by_id_and_arn_accepted(make_config, context, world):
    for key in (world["KMS_KEY_ID"], world["KMS_KEY_ARN"]):
        config = root_volume(make_config, KmsKeyId=key, Encrypted=True)
        assert list(KmsKeyValidator().validate(config, context)) == [], key


def test_missing_key_reports_kms_text(make_config, context):
    config = root_volume(make_config, KmsKeyId="no-such-key", Encrypted=True)

    findings = list(KmsKeyValidator().validate(config, context))

    assert findings == [Finding(Level.ERROR, "Invalid keyId no-such-key", KEY_PATH)]


def test_key_validators_need_aws_flags():
    assert KmsKeyIdEncryptedValidator.needs_aws is False
    assert KmsKeyValidator.needs_aws is True
