"""Check of the URLs in DevSettings: the scheme, then that the object or page can be fetched."""

from __future__ import annotations

import http.client
import re
import time
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

from pcimage.engine import Finding, KeyPath, Level, ValidationContext

from .awscalls import AwsCallError, s3_call
from .base import dig, run_isolated

#: Seconds urllib waits to connect to an https URL and for each read. ParallelCluster sets no
#: timeout; a bound keeps one unreachable host from stalling the whole validation.
HTTPS_TIMEOUT_SECONDS = 10.0

#: Retries after a ConnectionError, and the wait before each, as ParallelCluster 3.16.1 does.
CONNECTION_RETRIES = 3
CONNECTION_RETRY_WAIT_SECONDS = 1.0

# ParallelCluster splits an s3 URL with this pattern; note it is case-sensitive, unlike the scheme.
_S3_URL = re.compile(r"s3://(.*?)/(.*)")


def configured_urls(config: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """Return the URLs to check with their key paths, in ParallelCluster's order.

    ChefCookbook is checked whenever it is present, so an empty string fails the scheme check.
    NodePackage is checked only when non-empty.
    """
    urls: list[tuple[KeyPath, str]] = []
    chef_cookbook = dig(config, "DevSettings", "Cookbook", "ChefCookbook")
    if chef_cookbook is not None:
        urls.append((("DevSettings", "Cookbook", "ChefCookbook"), chef_cookbook))
    node_package = dig(config, "DevSettings", "NodePackage")
    if node_package:
        urls.append((("DevSettings", "NodePackage"), node_package))
    return urls


class UrlValidator:
    """Checks that each DevSettings URL is https or s3 and can be fetched (HEAD for s3, GET for https).

    A wrong scheme or a malformed URL is an ERROR. A URL that cannot be fetched is a WARNING,
    because ParallelCluster does not fail image builds on it. A URL given in two places is
    checked once and reported once, at its first place. The URLs are checked concurrently.
    """

    type = "UrlValidator"
    # The scheme and form checks need no network, so an offline run keeps them and skips the fetch.
    needs_aws = False

    def __init__(
        self,
        https_timeout: float = HTTPS_TIMEOUT_SECONDS,
        connection_retries: int = CONNECTION_RETRIES,
        retry_wait: float = CONNECTION_RETRY_WAIT_SECONDS,
    ):
        self.https_timeout = https_timeout
        self.connection_retries = connection_retries
        self.retry_wait = retry_wait

    def validate(self, config: Mapping[str, Any], context: ValidationContext) -> Iterator[Finding]:
        first_path: dict[str, KeyPath] = {}
        for path, url in configured_urls(config):
            first_path.setdefault(url, path)
        if not first_path:
            return

        with ThreadPoolExecutor(max_workers=len(first_path), thread_name_prefix="pcimage-url") as pool:
            pending = [pool.submit(self._check_isolated, url, path, context) for url, path in first_path.items()]
        for future in pending:
            yield from future.result()

    def _check_isolated(self, url: str, path: KeyPath, context: ValidationContext) -> list[Finding]:
        return run_isolated(lambda: self.check_url(url, path, context), path, self.type)

    def check_url(self, url: str, path: KeyPath, context: ValidationContext) -> list[Finding]:
        """Return the findings for one URL, retrying the fetch after a ConnectionError."""
        scheme = urlparse(url).scheme
        if scheme not in ("https", "s3"):
            return [
                Finding(Level.ERROR, f"The value '{url}' is not a valid URL, choose URL with 'https' or 's3' prefix.", path)
            ]

        if context.offline:
            if scheme == "s3" and not _S3_URL.match(url):
                return [Finding(Level.ERROR, f"s3 url '{url}' is invalid.", path)]
            return []

        retries = 0
        while True:
            try:
                if scheme == "s3":
                    return self.check_s3_object(url, path, context)
                return self.check_https(url, path)
            except ConnectionError as error:
                if retries >= self.connection_retries:
                    return [Finding(Level.WARNING, f"The url '{url}' causes ConnectionError: {error}.", path)]
                retries += 1
                time.sleep(self.retry_wait)

    def check_s3_object(self, url: str, path: KeyPath, context: ValidationContext) -> list[Finding]:
        """Return a WARNING with S3's mapped text if HeadObject on the URL's object fails."""
        match = _S3_URL.match(url)
        if not match:
            return [Finding(Level.ERROR, f"s3 url '{url}' is invalid.", path)]
        bucket, key = match.groups()
        try:
            s3_call(context, "head_object", bucket, key)
        except AwsCallError as error:
            return [Finding(Level.WARNING, str(error), path)]
        return []

    def check_https(self, url: str, path: KeyPath) -> list[Finding]:
        """Return a WARNING if a GET of the URL fails, or an ERROR if urllib rejects the URL itself."""
        try:
            with urllib.request.urlopen(url, timeout=self.https_timeout):  # noqa: S310 (the scheme is https)
                pass
        except HTTPError as error:
            return [
                Finding(
                    Level.WARNING,
                    f"The url '{url}' causes HTTPError, the error code is '{error.code}', "
                    f"the error reason is '{error.reason}'.",
                    path,
                )
            ]
        except URLError as error:
            return [Finding(Level.WARNING, f"The url '{url}' causes URLError, the error reason is '{error.reason}'.", path)]
        except TimeoutError as error:
            # A read that outlives the timeout escapes urllib unwrapped. ParallelCluster never times
            # out, so it has no text for this; the URLError wording gives "reason is 'timed out'".
            return [Finding(Level.WARNING, f"The url '{url}' causes URLError, the error reason is '{error}'.", path)]
        except (ValueError, http.client.InvalidURL):
            # NOTE: ParallelCluster 3.16.1 catches only ValueError, so an InvalidURL (a bad port,
            # a space in the path) aborts its whole request with the bare exception text.
            return [Finding(Level.ERROR, f"The value '{url}' is not a valid URL.", path)]
        return []
