"""Where finished visits go: the events database, an MQTT broker, a webhook. One ``send`` each.

A destination either takes a whole batch, raises :class:`Unavailable` (an outage: the courier retries the
same batch later, with backoff) or raises :class:`Rejected` (the content itself is refused: retrying cannot
help, so the courier isolates the refused rows into the dead-letter table). MQTT and webhook messages are
the event's row as JSON, with its ``id``, so a receiver can drop the duplicates that at-least-once delivery
may bring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from storemood.database.engine import DatabaseUnavailable, create_db_engine
from storemood.database.event_table import EventTable
from storemood.delivery.outbox import Row
from storemood.errors import UserError, first_line
from storemood.urls import mask_url

SEND_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Storemood-Signature"
#: The environment variable holding the webhook's signing secret (kept out of store.yaml and flags).
WEBHOOK_SECRET_ENV = "STOREMOOD_WEBHOOK_SECRET"


class Unavailable(Exception):
    """The destination cannot take anything now (down, unreachable, locked): try the rest later.

    ``delivered``: how many of the rows, from the first, it took before it failed.
    """

    def __init__(self, reason: str, delivered: int = 0) -> None:
        super().__init__(reason)
        self.delivered = delivered


class Rejected(Exception):
    """The destination refused rows for their content: sending them again will not help.

    ``at``: the index of the refused row when known (the rows before it were taken); None when the
    whole batch was refused as one (a database transaction), and the refused row is still to be found.
    """

    def __init__(self, reason: str, at: int | None = None) -> None:
        super().__init__(reason)
        self.at = at


class Destination(Protocol):
    """Something that takes visit rows, in order; ``name`` tells outboxes and messages apart."""

    name: str

    def send(self, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


class DatabaseDestination:
    """The events table of a database; opened (and migrated) on first use, from the courier's thread.

    ``on_open`` runs once after opening (the run's housekeeping: store name, retention), so nothing that
    waits on the database ever runs in the frame loop.
    """

    name = "database"

    def __init__(self, url: str | None, on_open: Callable[[EventTable], None] | None = None) -> None:
        create_db_engine(url).dispose()  # a malformed URL or a missing driver is the user's error, now
        self.url = url
        self.on_open = on_open
        self._table: EventTable | None = None

    def send(self, rows: Sequence[Row]) -> None:
        try:
            self.table().add_rows(rows)
        except (DatabaseUnavailable, OperationalError) as error:
            raise Unavailable(first_line(error)) from None
        except (DBAPIError, StatementError, ValueError, TypeError) as error:
            raise Rejected(first_line(error)) from None

    def table(self) -> EventTable:
        if self._table is None:
            self._table = EventTable(self.url)
            if self.on_open is not None:
                self.on_open(self._table)
        return self._table

    def close(self) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None

    def __str__(self) -> str:
        return f"database {mask_url(self.url or 'default')}"


class MqttDestination:
    """Publishes each visit as one JSON message, QoS 1, under ``PREFIX/visits/<store>/<camera>``.

    Each message is acknowledged by the broker before the next is sent, so visits of one camera arrive in
    order. ``mqtt://HOST[:PORT]/PREFIX`` (port 1883 by default).
    """

    name = "mqtt"

    def __init__(self, url: str, client_id: str | None = None) -> None:
        self.host, self.port, self.prefix = parse_mqtt_url(url)
        self.url = url
        self.client_id = client_id
        self._client = None

    def send(self, rows: Sequence[Row]) -> None:
        send_each(rows, self._publish)

    def _publish(self, row: Row) -> None:
        client = self._connected()
        info = client.publish(f"{self.prefix}/visits/{row['store']}/{row['camera']}", json.dumps(row), qos=1)
        try:
            info.wait_for_publish(timeout=SEND_TIMEOUT_S)
        except (RuntimeError, ValueError) as error:  # paho: not connected, queue full
            self.close()
            raise Unavailable(f"MQTT broker {self.host}:{self.port}: {error}") from None
        if not info.is_published():
            self.close()
            raise Unavailable(f"MQTT broker {self.host}:{self.port} did not acknowledge in time")

    def _connected(self):
        import paho.mqtt.client as mqtt

        if self._client is not None and self._client.is_connected():
            return self._client
        self.close()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id or "")
        try:
            client.connect(self.host, self.port, keepalive=30)
        except OSError as error:
            raise Unavailable(f"MQTT broker {self.host}:{self.port}: {error}") from None
        client.loop_start()
        self._client = client
        return client

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def __str__(self) -> str:
        return f"MQTT broker {self.host}:{self.port} (topic {self.prefix}/visits/...)"


class WebhookDestination:
    """POSTs each visit as JSON to a URL; with a secret, signs the body (HMAC-SHA256 in a header).

    2xx is delivered; 408, 429 and 5xx or no answer are outages (retried); any other status refuses
    the visit's content (dead letter).
    """

    name = "webhook"

    def __init__(self, url: str, secret: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"webhook URL must be http:// or https:// with a host, not {mask_url(url)}")
        self.url = url
        self.secret = secret or None

    def send(self, rows: Sequence[Row]) -> None:
        send_each(rows, self._post)

    def _post(self, row: Row) -> None:
        body = json.dumps(row).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S):
                return
        except urllib.error.HTTPError as error:
            if error.code in (408, 429) or error.code >= 500:
                raise Unavailable(f"webhook {mask_url(self.url)} answered {error.code}") from None
            raise Rejected(f"webhook {mask_url(self.url)} refused the visit with {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise Unavailable(f"webhook {mask_url(self.url)}: {getattr(error, 'reason', error)}") from None

    def close(self) -> None:
        """Nothing held open between posts."""

    def __str__(self) -> str:
        return f"webhook {mask_url(self.url)}"


def send_each(rows: Sequence[Row], send_one: Callable[[Row], None]) -> None:
    """Send rows one message each, saying on failure how many went through before it."""
    for index, row in enumerate(rows):
        try:
            send_one(row)
        except Unavailable as error:
            raise Unavailable(str(error), delivered=index) from None
        except Rejected as error:
            raise Rejected(str(error), at=index) from None


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: what a receiver recomputes to check a message.

    >>> signature("s3cret", b'{"id": "a"}')[:15]
    'sha256=d7a292df'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_mqtt_url(url: str) -> tuple[str, int, str]:
    """``mqtt://HOST[:PORT]/PREFIX`` as ``(host, port, prefix)``; a UserError for anything else.

    >>> parse_mqtt_url("mqtt://127.0.0.1:1883/shop/floor1")
    ('127.0.0.1', 1883, 'shop/floor1')
    """
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    try:
        port = parts.port or 1883
    except ValueError:
        port = 0
    if parts.scheme != "mqtt" or not parts.hostname or not prefix or not 0 < port < 65536 or "#" in prefix:
        raise UserError(f"--publish needs mqtt://HOST[:PORT]/PREFIX, not {mask_url(url)}")
    return parts.hostname, port, prefix
