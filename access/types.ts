// What a process may do, as data: the shapes access/ and subscribers/ both declare with.

/** A durable consumer a principal may create, read from, ack on and (for a team) delete. */
export interface Durable {
  stream: string;
  name: string;
}

export type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** Table -> privileges. UPDATE also covers `SELECT … FOR UPDATE` and `INSERT … ON CONFLICT DO UPDATE`. */
export type TableGrants = Readonly<Record<string, readonly Privilege[]>>;
