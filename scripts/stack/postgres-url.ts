import { urlHostPort } from './addresses';
import { redactUrl } from './report';

/** The database named by DATABASE_URL, split into the parts the cluster setup needs. */
export interface DbTarget {
  url: string;
  redacted: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Parses DATABASE_URL (user, password and database name percent-decoded). */
export function dbTarget(url: string): DbTarget {
  const { host, port } = urlHostPort(url, 5432, 'DATABASE_URL');
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(parsed.username);
  return {
    url,
    redacted: redactUrl(url),
    host,
    port,
    user,
    password: decodeURIComponent(parsed.password),
    database: database || user,
  };
}
