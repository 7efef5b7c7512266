"""How the web app is configured, and the rule that decides whether it may start without a token.

The API shows what shoppers did in front of products, so it is closed by default: a token is required as
soon as the server listens on anything but loopback, and browsers on other origins are not let in (no
CORS headers) unless origins are named.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from storemood.analytics.policy import FigurePolicy
from storemood.defaults import ENGAGEMENT_DWELL_S
from storemood.errors import UserError

#: Environment variable holding the API token (a file given with ``--token-file`` wins).
TOKEN_ENV = "STOREMOOD_API_TOKEN"
#: Shortest token accepted: a guessable token is worse than none, as it looks safe.
MIN_TOKEN_LENGTH = 16
#: Longest time range one request may cover unless the server is told otherwise.
DEFAULT_MAX_RANGE_DAYS = 366.0


@dataclass(frozen=True)
class ApiSettings:
    """Settings of one running app.

    Attributes:
        token: clients must send ``Authorization: Bearer <token>`` to every ``/api`` data endpoint;
            None leaves the API open (allowed on loopback only, see :func:`check_exposure`).
        cors_origins: browser origins allowed to call the API from their pages (none by default).
        max_range_days: longest ``since``..``until`` range one request may ask for; a request without
            ``since`` covers this many days back from ``until`` (or now).
        engagement_dwell_s: a visit this long or longer counts as engaged.
        figures: minimum sample, minimum group size (k) and shares method of every figure served.
        raw_visits: serve ``/api/visits`` (one row per visit). Off unless asked for: every other endpoint
            hides groups under ``figures``' minimum size, and a single visit is such a group.
    """

    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_range_days: float = DEFAULT_MAX_RANGE_DAYS
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S
    figures: FigurePolicy = field(default_factory=FigurePolicy)
    raw_visits: bool = False


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def read_token(token_file: Path | None) -> str | None:
    """The token from ``token_file`` (first line) or from ``$STOREMOOD_API_TOKEN``; None when neither is set.

    Tokens are not taken on the command line, where other users of the machine could read them.
    """
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").strip().splitlines()
        except OSError as error:
            raise UserError(f"cannot read token file {token_file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UserError(f"token file {token_file} is not text; its first line should be the token") from None
        text = lines[0].strip() if lines else ""
        if not text:
            raise UserError(f"token file {token_file} is empty")
    else:
        text = os.environ.get(TOKEN_ENV, "").strip()
        if not text:
            return None
    if not (text.isascii() and text.isprintable()):
        raise UserError("the API token must be printable ASCII (clients send it in an HTTP header)")
    if len(text) < MIN_TOKEN_LENGTH:
        raise UserError(f"the API token must be at least {MIN_TOKEN_LENGTH} characters long")
    return text


def check_exposure(host: str, settings: ApiSettings) -> None:
    """Refuse (UserError) to serve an open API to the network: non-loopback hosts need a token."""
    if settings.token is None and not is_loopback(host):
        raise UserError(
            f"refusing to listen on {host} without an API token; set {TOKEN_ENV} or --token-file "
            "(only loopback hosts such as 127.0.0.1 may serve without one)"
        )
