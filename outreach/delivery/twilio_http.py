"""Point the official twilio client at another origin (the phone-network simulator, a proxy, a mock).

Twilio's client builds every URL from ``https://{api}.twilio.com`` (plus edge/region). Overriding
``client.api.base_url`` only covers one domain and breaks as soon as ``TWILIO_REGION`` or
``TWILIO_EDGE`` rewrites the host, so instead we rewrite at the HTTP layer: scheme, host and port are
replaced, path and query are kept. Paging URLs (``next_page_uri``) go through the same client, so they
are rewritten too.
"""
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

# Concurrent senders share one client; requests' default of 10 pooled connections per host would make
# extra threads open and drop connections on every call.
POOL_SIZE = 64


class RedirectingHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that sends every request to ``base_url``'s scheme, host and port."""

    def __init__(self, base_url: str, **kwargs):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"api base url must look like http(s)://host[:port], got {base_url!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"api base url must be an origin without a path, got {base_url!r}")
        super().__init__(**kwargs)
        self.scheme, self.netloc = parts.scheme, parts.netloc
        if self.session is not None:
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    def rewrite(self, url: str) -> str:
        """Same path and query, our scheme and host:port."""
        parts = urlsplit(url)
        return urlunsplit((self.scheme, self.netloc, parts.path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: Optional[Dict[str, object]] = None,
        data: Optional[Dict[str, object]] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: Optional[Tuple[str, str]] = None,
        timeout: Optional[float] = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def make_client(
    account_sid: str,
    auth_token: str,
    api_base_url: Optional[str] = None,
    timeout: Optional[float] = 30,
) -> Client:
    """The one way the app builds a twilio Client: real Twilio, or ``api_base_url`` when set."""
    if not api_base_url:
        return Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    return Client(
        account_sid, auth_token, http_client=RedirectingHttpClient(api_base_url, timeout=timeout)
    )
