import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Current status of the order; kept up to date at every step so operators can filter by it. */
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
/** The customer who placed the order. */
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
/** True while a compensation has kept failing longer than COMPENSATION_ALERT_AFTER: page someone. */
export const CompensationStuckKey = defineSearchAttributeKey('CompensationStuck', SearchAttributeType.BOOL);
