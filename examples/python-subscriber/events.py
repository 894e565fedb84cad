"""Turns a JetStream message into a validated event of the checkout service.

The models in checkout_events/ are generated from the committed JSON Schemas
(events/json-schema/) by datamodel-code-generator: regenerate them with generate_models.sh
whenever the schemas change. Validation is the models' own (pydantic): a payload that breaks its
schema raises InvalidEvent, and so does a type or version this subscriber does not know.
"""

from __future__ import annotations

import json
from typing import Union

from pydantic import ValidationError

from checkout_events.checkout_order_cancelled_v1 import CheckoutOrderCancelledV1
from checkout_events.checkout_order_completed_v1 import CheckoutOrderCompletedV1
from checkout_events.checkout_order_failed_v1 import CheckoutOrderFailedV1
from checkout_events.checkout_order_failed_v2 import CheckoutOrderFailedV2
from checkout_events.checkout_order_placed_v1 import CheckoutOrderPlacedV1

OrderEvent = Union[
    CheckoutOrderPlacedV1,
    CheckoutOrderCompletedV1,
    CheckoutOrderFailedV1,
    CheckoutOrderFailedV2,
    CheckoutOrderCancelledV1,
]

# (type, dataversion) -> model. A consumer lists the versions it understands; a new version of a
# type is a new entry (docs/events.md "Evolution rules"), never a change to an old one.
MODELS: dict[tuple[str, int], type[OrderEvent]] = {
    ("checkout.order.placed", 1): CheckoutOrderPlacedV1,
    ("checkout.order.completed", 1): CheckoutOrderCompletedV1,
    ("checkout.order.failed", 1): CheckoutOrderFailedV1,
    ("checkout.order.failed", 2): CheckoutOrderFailedV2,
    ("checkout.order.cancelled", 1): CheckoutOrderCancelledV1,
}


class InvalidEvent(Exception):
    """The message is not an event this subscriber can apply; it goes to the DLQ, never retried."""


def parse_event(data: bytes) -> OrderEvent:
    """The validated event in `data` (a CloudEvents JSON envelope), or InvalidEvent saying why."""
    try:
        envelope = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidEvent(f"not JSON: {err}") from err
    if not isinstance(envelope, dict):
        raise InvalidEvent("not a JSON object")
    key = (envelope.get("type"), envelope.get("dataversion"))
    model = MODELS.get(key)  # type: ignore[arg-type]
    if model is None:
        raise InvalidEvent(f"unknown event type or version: {key[0]} v{key[1]}")
    try:
        return model.model_validate(envelope)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEvent(f"invalid-data: {where}: {first['msg']}") from err
