export { checkoutSaga, getStateQuery } from './checkout-saga';
