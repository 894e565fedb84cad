"""An order-status subscriber in Python: another team's consumer of the checkout's events.

It reads the CHECKOUT stream through a durable JetStream consumer of its own, validates every
event against the models generated from the committed JSON Schemas, applies it idempotently to a
SQLite projection (store.py), and dead-letters what it cannot apply to the shared DLQ stream with
the same subject and headers as the TypeScript kit, so `npm run dlq` lists and replays them.

    python subscriber.py --credentials .stack/nats/example-team.json --durable example-team-orders --db orders.sqlite3
    python subscriber.py --db orders.sqlite3 --dump      # the projection as JSON

One JSON line per settled message goes to stdout: seq, eventId, type, outcome (applied,
duplicate, dead_lettered) and, for a dead letter, the error. SIGTERM or SIGINT stops fetching,
finishes the batch in hand and drains the connection.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import signal

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
import nats.js.errors

from events import InvalidEvent, parse_event
from store import OrderStore

STREAM = "CHECKOUT"
SUBJECTS = "checkout.order.>"
MAX_DELIVER = 5


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def dead_letter(js: JetStreamContext, msg: Msg, durable: str, error: str) -> None:
    """Publishes `msg` to dlq.<durable>.<subject> with the kit's Dlq-* headers, then acks it."""
    meta = msg.metadata
    headers = {
        "Nats-Msg-Id": f"dlq:{durable}:{meta.stream}:{meta.sequence.stream}",
        "Dlq-Consumer": durable,
        "Dlq-Error": error,
        "Dlq-Delivery-Count": str(meta.num_delivered),
        "Dlq-Stream": meta.stream,
        "Dlq-Stream-Sequence": str(meta.sequence.stream),
        "Dlq-Original-Subject": msg.subject,
        "Dlq-Time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    original_id = (msg.headers or {}).get("Nats-Msg-Id")
    if original_id:
        headers["Dlq-Original-Msg-Id"] = original_id
    await js.publish(f"dlq.{durable}.{msg.subject}", msg.data, headers=headers)
    # Acked only once the dead letter is stored: a crash in between redelivers, and the DLQ's
    # duplicate window drops the second copy (same Nats-Msg-Id).
    await msg.ack()


async def settle(js: JetStreamContext, store: OrderStore, msg: Msg, durable: str) -> None:
    seq = msg.metadata.sequence.stream
    try:
        event = parse_event(msg.data)
    except InvalidEvent as err:
        await dead_letter(js, msg, durable, str(err))
        emit(seq=seq, eventId=(msg.headers or {}).get("Nats-Msg-Id"), outcome="dead_lettered", error=str(err))
        return
    try:
        outcome = store.apply(event)
    except Exception as err:  # a transient failure of our own store: try again shortly
        if msg.metadata.num_delivered >= MAX_DELIVER:
            await dead_letter(js, msg, durable, f"handler failed {MAX_DELIVER} times: {err}")
            emit(seq=seq, eventId=str(event.id), type=event.type, outcome="dead_lettered", error=str(err))
        else:
            await msg.nak(delay=1)
            emit(seq=seq, eventId=str(event.id), type=event.type, outcome="retried", error=str(err))
        return
    await msg.ack()
    emit(seq=seq, eventId=str(event.id), type=event.type, outcome=outcome)


async def run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    store = OrderStore(args.db)
    servers, user, password = connection_settings(args)
    nc = await nats.connect(
        servers,
        name=f"python-subscriber-{args.durable}",
        user=user,
        password=password,
        # The team's NATS user may only receive replies under its own inbox prefix.
        inbox_prefix=f"_INBOX.{user}" if user else "_INBOX",
    )
    try:
        js = nc.jetstream()
        # The checkout team declares the durable (pull, explicit ack, MAX_DELIVER deliveries):
        # a team's NATS user may read, ack and delete its durables but not create one, because a
        # consumer's settings could otherwise make JetStream publish onto the checkout's subjects.
        try:
            sub = await js.pull_subscribe_bind(consumer=args.durable, stream=STREAM)
            await sub.consumer_info()
        except nats.js.errors.NotFoundError:
            emit(outcome="no-durable", durable=args.durable)
            raise SystemExit(
                f"durable {args.durable} does not exist on {STREAM}: ask the checkout team to declare it"
            )
        emit(outcome="ready", durable=args.durable)
        while not stop.is_set():
            try:
                batch = await sub.fetch(batch=32, timeout=1)
            except asyncio.TimeoutError:  # nats-py raises both its own subclass and the plain one
                continue
            # Stream order within one durable, one message at a time: an order's events apply in
            # the order the relay published them.
            for msg in batch:
                await settle(js, store, msg, args.durable)
        # Every message fetched is settled by now. The pull subscription goes first: nats-py's
        # drain() waits forever on a pull subscription's inbox (seen with nats-py 2.16).
        await sub.unsubscribe()
    finally:
        await nc.drain()
        store.close()


def connection_settings(args: argparse.Namespace) -> tuple[list[str], str | None, str | None]:
    """Servers, user and password: from --credentials (the JSON file the checkout team hands out,
    `{ "servers", "user", "password" }`), else --nats with NATS_USER / NATS_PASSWORD."""
    if args.credentials:
        with open(args.credentials, encoding="utf-8") as f:
            settings = json.load(f)
        return list(settings["servers"]), settings["user"], settings["password"]
    return args.nats.split(","), os.environ.get("NATS_USER"), os.environ.get("NATS_PASSWORD")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument(
        "--credentials",
        help='JSON file with { "servers", "user", "password" }, e.g. .stack/nats/example-team.json',
    )
    parser.add_argument("--durable", default="example-team-orders")
    parser.add_argument("--db", default="orders.sqlite3")
    parser.add_argument("--dump", action="store_true", help="print the projection as JSON and exit")
    args = parser.parse_args()
    if args.dump:
        store = OrderStore(args.db)
        print(json.dumps(store.orders(), indent=2))
        store.close()
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
