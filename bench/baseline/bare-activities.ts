/** Three activities that do nothing: the baseline measures Temporal's own scheduling cost. */
export const bareActivities = {
  async stepOne(orderId: string): Promise<string> {
    return orderId;
  },
  async stepTwo(orderId: string): Promise<string> {
    return orderId;
  },
  async stepThree(orderId: string): Promise<string> {
    return orderId;
  },
};

export type BareActivities = typeof bareActivities;
