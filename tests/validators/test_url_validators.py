"""UrlValidator: the scheme check, S3 HeadObject, and https fetches against a local TLS server."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pcimage.engine import Finding, Level
from pcimage.validators.urls import UrlValidator

COOKBOOK_PATH = ("DevSettings", "Cookbook", "ChefCookbook")
NODE_PATH = ("DevSettings", "NodePackage")


def dev_settings(make_config, cookbook=None, node=None):
    settings = {}
    if cookbook is not None:
        settings["Cookbook"] = {"ChefCookbook": cookbook}
    if node is not None:
        settings["NodePackage"] = node
    return make_config(DevSettings=settings)


def run(config, context, **options):
    return list(UrlValidator(**options).validate(config, context))


class PackageHandler(http.server.BaseHTTPRequestHandler):
    """Serves 200 on /ok, 404 on /missing, and hangs up without a response on /drop."""

    dropped = 0

    def do_GET(self):  # noqa: N802 (http.server's method name)
        if self.path == "/drop":
            type(self).dropped += 1
            self.close_connection = True
            return
        status = 200 if self.path == "/ok" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


def write_self_signed_certificate(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """An https server on 127.0.0.1 whose self-signed certificate urllib trusts through SSL_CERT_FILE."""
    cert_file, key_file = write_self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    PackageHandler.dropped = 0

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PackageHandler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_wrong_scheme_rejected(make_config, stubbed_aws):
    findings = run(dev_settings(make_config, cookbook="http://example.invalid/cookbook.tgz"), stubbed_aws)

    assert findings == [
        Finding(
            Level.ERROR,
            "The value 'http://example.invalid/cookbook.tgz' is not a valid URL, choose URL with 'https' or 's3' prefix.",
            COOKBOOK_PATH,
        )
    ]


def test_same_url_reported_once(make_config, stubbed_aws):
    config = dev_settings(make_config, cookbook="ftp://example.invalid/x.tgz", node="ftp://example.invalid/x.tgz")

    findings = run(config, stubbed_aws)

    assert [finding.path for finding in findings] == [COOKBOOK_PATH]


def test_empty_cookbook_checked_empty_node_not(make_config, stubbed_aws):
    findings = run(dev_settings(make_config, cookbook="", node=""), stubbed_aws)

    assert findings == [
        Finding(Level.ERROR, "The value '' is not a valid URL, choose URL with 'https' or 's3' prefix.", COOKBOOK_PATH)
    ]


def test_no_urls_no_findings(make_config, stubbed_aws):
    assert run(make_config(), stubbed_aws) == []
    assert run(make_config(DevSettings={"Cookbook": {"ExtraChefAttributes": "{}"}}), stubbed_aws) == []


def test_s3_objects_checked_with_head_object(make_config, context, world):
    missing = f"s3://{world['BUCKET']}/packages/node.tgz"
    config = dev_settings(make_config, cookbook=world["SCRIPT_S3_URL"], node=missing)

    findings = run(config, context)

    assert findings == [
        Finding(
            Level.WARNING,
            f"Failed when accessing object 'packages/node.tgz' from bucket '{world['BUCKET']}'. "
            f"This can be due to 'packages/node.tgz' not found in '{world['BUCKET']}'",
            NODE_PATH,
        )
    ]


def test_malformed_s3_urls_rejected(make_config, stubbed_aws, world):
    config = dev_settings(make_config, cookbook="s3://bucket-without-key", node="S3://bucket/key.tgz")

    findings = run(config, stubbed_aws)

    # The scheme check ignores case but ParallelCluster's s3 pattern does not.
    assert findings == [
        Finding(Level.ERROR, "s3 url 's3://bucket-without-key' is invalid.", COOKBOOK_PATH),
        Finding(Level.ERROR, "s3 url 'S3://bucket/key.tgz' is invalid.", NODE_PATH),
    ]


def test_invalid_bucket_name_is_error(make_config, context):
    findings = run(dev_settings(make_config, node="s3://Bad_Bucket!/node.tgz"), context)

    assert len(findings) == 1
    assert findings[0].level == Level.ERROR
    assert findings[0].message.startswith('Parameter validation failed:\nInvalid bucket name "Bad_Bucket!"')


def test_reachable_https_accepted(make_config, stubbed_aws, https_server):
    assert run(dev_settings(make_config, node=f"{https_server}/ok"), stubbed_aws) == []


def test_https_not_found_warns(make_config, stubbed_aws, https_server):
    url = f"{https_server}/missing"

    findings = run(dev_settings(make_config, cookbook=url), stubbed_aws)

    assert findings == [
        Finding(
            Level.WARNING,
            f"The url '{url}' causes HTTPError, the error code is '404', the error reason is 'Not Found'.",
            COOKBOOK_PATH,
        )
    ]


def test_refused_connection_warns(make_config, stubbed_aws, closed_port):
    url = f"https://127.0.0.1:{closed_port}/node.tgz"

    findings = run(dev_settings(make_config, node=url), stubbed_aws)

    assert findings == [
        Finding(
            Level.WARNING,
            f"The url '{url}' causes URLError, the error reason is '[Errno 111] Connection refused'.",
            NODE_PATH,
        )
    ]


def test_untrusted_certificate_warns(make_config, stubbed_aws, https_server, monkeypatch, tmp_path):
    other_directory = tmp_path / "other"
    other_directory.mkdir()
    other_cert, _ = write_self_signed_certificate(other_directory)
    monkeypatch.setenv("SSL_CERT_FILE", str(other_cert))
    url = f"{https_server}/ok"

    findings = run(dev_settings(make_config, node=url), stubbed_aws)

    assert len(findings) == 1
    assert findings[0].level == Level.WARNING
    assert "CERTIFICATE_VERIFY_FAILED" in findings[0].message


def test_dropped_connection_retried_then_warns(make_config, stubbed_aws, https_server):
    url = f"{https_server}/drop"

    findings = run(dev_settings(make_config, node=url), stubbed_aws, retry_wait=0)

    assert findings == [
        Finding(
            Level.WARNING,
            f"The url '{url}' causes ConnectionError: Remote end closed connection without response.",
            NODE_PATH,
        )
    ]
    assert PackageHandler.dropped == 4


def test_silent_server_times_out(make_config, stubbed_aws):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/node.tgz"

        findings = run(dev_settings(make_config, node=url), stubbed_aws, https_timeout=0.3)

    assert len(findings) == 1
    assert findings[0].level == Level.WARNING
    assert findings[0].message.startswith(f"The url '{url}' causes URLError, the error reason is ")
    assert "timed out" in findings[0].message


def test_urls_rejected_by_urllib_are_errors(make_config, stubbed_aws):
    # A 70-character DNS label fails IDNA encoding before any lookup, and a port must be numeric.
    long_label = "https://" + "a" * 70 + ".invalid/cookbook.tgz"
    bad_port = "https://127.0.0.1:port/node.tgz"

    findings = run(dev_settings(make_config, cookbook=long_label, node=bad_port), stubbed_aws)

    assert findings == [
        Finding(Level.ERROR, f"The value '{long_label}' is not a valid URL.", COOKBOOK_PATH),
        Finding(Level.ERROR, f"The value '{bad_port}' is not a valid URL.", NODE_PATH),
    ]


def test_results_keep_field_order(make_config, context, world, https_server):
    # The https check is slower than the scheme check, and its finding still comes first.
    config = dev_settings(make_config, cookbook=f"{https_server}/missing", node="ftp://example.invalid/node.tgz")

    findings = run(config, context)

    assert [finding.path for finding in findings] == [COOKBOOK_PATH, NODE_PATH]
