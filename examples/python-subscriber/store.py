"""The subscriber's own state: an order-status projection in SQLite, applied idempotently.

Each event is applied in one transaction with the record of its id, so a redelivery (the
subscriber died before its ack) or a republished copy (a replayed dead letter) is recognised by
its id and changes nothing: the same exactly-once effect the TypeScript kit gives with its inbox.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from events import OrderEvent

Outcome = Literal["applied", "duplicate"]

# Final statuses never go back to PLACED, whatever order the events arrive in.
STATUS_OF = {
    "checkout.order.placed": "PLACED",
    "checkout.order.completed": "COMPLETED",
    "checkout.order.failed": "FAILED",
    "checkout.order.cancelled": "CANCELLED",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
  event_id TEXT PRIMARY KEY,
  processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
"""


class OrderStore:
    def __init__(self, path: str) -> None:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT) below.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(SCHEMA)

    def apply(self, event: OrderEvent) -> Outcome:
        """Applies `event` once: the id record and the projection change commit together."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            inserted = db.execute(
                "INSERT INTO processed_events (event_id) VALUES (?) ON CONFLICT DO NOTHING",
                (str(event.id),),
            ).rowcount
            if inserted == 0:
                db.execute("ROLLBACK")
                return "duplicate"
            status = STATUS_OF[event.type]
            db.execute(
                """
                INSERT INTO orders (order_id, customer_id, status, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
                 WHERE orders.status = 'PLACED'
                """,
                (str(event.data.orderId), event.data.customerId, status, event.time.isoformat()),
            )
            db.execute("COMMIT")
            return "applied"
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def orders(self) -> list[dict[str, str]]:
        rows = self._db.execute("SELECT order_id, customer_id, status, updated_at FROM orders ORDER BY order_id")
        return [dict(zip(("orderId", "customerId", "status", "updatedAt"), row)) for row in rows]

    def close(self) -> None:
        self._db.close()
