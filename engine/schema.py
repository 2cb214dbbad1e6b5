# Placeholder until the schema check lands: keeps the package importable.
SCHEMA_VALIDATOR_TYPE = "ImageSchemaValidator"


def image_config_schema():
    raise NotImplementedError


def check_schema(document):
    raise NotImplementedError
