"""The `pcimage` command line: parse arguments, call an operation, print its result.

Results (JSON bodies, or findings in text form) go to stdout; logs go to stderr.
Exit status: 0 on success (a passing dryrun included), 1 when the request is rejected
(invalid configuration, conflict, AWS failure), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

_TRUE_WORDS = {"true", "True", "TRUE"}
_FALSE_WORDS = {"false", "False", "FALSE"}


def _boolean(text: str) -> bool:
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _suppressor(text: str) -> str:
    from pcimage.engine.suppression import SUPPRESSOR_PATTERN

    if not SUPPRESSOR_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"expected ALL or type:<ValidatorName>, got {text!r}")
    return text


def _image_id(text: str) -> str:
    # The pattern of ParallelCluster's API; the operation also caps the length at 128.
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]+", text):
        raise argparse.ArgumentTypeError(
            f"expected a letter followed by letters, digits or hyphens (2 characters or more), got {text!r}"
        )
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 1 to 65535, got {text!r}")
    return port


def _config_file(text: str) -> tuple[str, bytes]:
    from pcimage.engine.loader import MAX_DOCUMENT_BYTES

    path = Path(text)
    try:
        # One byte past the limit is enough for the loader to reject an oversized file, and a
        # stream such as /dev/zero is never read whole.
        with path.open("rb") as stream:
            return text, stream.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"file not found: {text!r}") from None
    except IsADirectoryError:
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a configuration file") from None
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: {error.strerror}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcimage",
        description="Validate and build custom AMIs for HPC clusters, as AWS ParallelCluster's build-image does.",
    )
    parser.add_argument("--debug", action="store_true", help="log debug messages to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build-image",
        help="validate an image configuration and create its EC2 Image Builder stack",
        description="Validate an image configuration and, unless --dryrun true, create the CloudFormation "
        "stack that builds the image. Prints the JSON response of ParallelCluster's buildImage.",
    )
    build.add_argument(
        "-c", "--image-configuration", required=True, type=_config_file, metavar="FILE", help="image configuration YAML file"
    )
    build.add_argument(
        "-i",
        "--image-id",
        required=True,
        type=_image_id,
        metavar="ID",
        help="image id: a letter, then letters, digits or hyphens; 2 to 128 characters",
    )
    build.add_argument("-r", "--region", help="AWS region; defaults to the config's Region, then boto3's default")
    build.add_argument(
        "--dryrun", type=_boolean, default=False, metavar="{true,false}", help="only validate (default: false)"
    )
    build.add_argument(
        "--rollback-on-failure",
        type=_boolean,
        default=False,
        metavar="{true,false}",
        help="roll the stack back when the build fails (default: false, which keeps it for debugging)",
    )
    build.add_argument(
        "--suppress-validators",
        nargs="+",
        type=_suppressor,
        metavar="SUPPRESSOR",
        help="skip validators: ALL, or type:<ValidatorName> (repeatable)",
    )
    build.add_argument(
        "--validation-failure-level",
        choices=["INFO", "WARNING", "ERROR"],
        default="ERROR",
        help="fail when a message has this level or higher (default: ERROR)",
    )
    build.add_argument(
        "--offline",
        action="store_true",
        help="make no AWS call: skip the checks that need AWS (dryrun only)",
    )
    build.add_argument(
        "--output",
        choices=["json", "text"],
        default="json",
        help="json: the API response body (default); text: one FILE:LINE:COLUMN line per message",
    )

    serve = commands.add_parser("serve", help="serve the HTTP API (POST /v3/images/custom)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default: 8080)")

    commands.add_parser("schema", help="print the image configuration JSON Schema, for editors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    if arguments.command == "schema":
        from pcimage.engine import image_config_schema

        try:
            print(json.dumps(image_config_schema(), indent=2))
        except BrokenPipeError:
            # The reader (`| head`) closed the pipe; that is not an error of ours.
            sys.stdout = None
        return EXIT_OK
    if arguments.command == "build-image" and arguments.offline and not arguments.dryrun:
        parser.error("--offline only supports a dryrun: add --dryrun true")
    if arguments.command == "serve":
        try:
            from pcimage.api_adapter.http import serve
        except ImportError as error:
            print(f"pcimage serve needs the HTTP extra ({error}): pip install 'pcimage[http]'", file=sys.stderr)
            return EXIT_REJECTED
        from pcimage.engine import PluginError, collect_validators, default_plugin_manager

        try:
            # A broken plugin would fail every request, so the server does not start.
            collect_validators(default_plugin_manager())
        except PluginError as error:
            print(f"pcimage serve: {error}", file=sys.stderr)
            return EXIT_REJECTED
        try:
            serve(host=arguments.host, port=arguments.port)
        except SystemExit as exit_:
            # uvicorn exits with its own status when it cannot bind the address; it has logged why.
            if exit_.code not in (0, None):
                return EXIT_REJECTED
        return EXIT_OK
    return _build_image(arguments)


def _build_image(arguments: argparse.Namespace) -> int:
    from pcimage.api_adapter.operations import build_image, call

    file_name, configuration = arguments.image_configuration
    status, body = call(
        build_image,
        image_configuration=configuration,
        image_id=arguments.image_id,
        dryrun=arguments.dryrun,
        region=arguments.region,
        rollback_on_failure=arguments.rollback_on_failure,
        suppress_validators=arguments.suppress_validators,
        validation_failure_level=arguments.validation_failure_level,
        offline=arguments.offline,
    )

    if arguments.output == "text":
        _print_text(file_name, status, body)
    else:
        print(json.dumps(body, indent=2))

    succeeded = status == 202 or (status == 412 and arguments.dryrun)
    return EXIT_OK if succeeded else EXIT_REJECTED


def _print_text(file_name: str, status: int, body: dict[str, Any]) -> None:
    messages = body.get("configurationValidationErrors") or body.get("validationMessages") or []
    for message in messages:
        location = file_name
        if message.get("line") is not None:
            location += f":{message['line']}:{message['column']}"
        print(f"{location}: {message['level']} {message['type']}: {message['message']}")
    if "message" in body and body.get("line") is not None:
        print(f"{file_name}:{body['line']}:{body['column']}: ERROR {body['message']}")
    else:
        print(body.get("message") or f"image {body['image']['imageId']}: {body['image']['imageBuildStatus']}")


if __name__ == "__main__":
    sys.exit(main())
