/**
 * The small part of Grafana's dashboard JSON model the project's dashboards use: time-series and
 * stat panels over one Prometheus data source chosen by a `datasource` variable, laid out in rows
 * of panels. Written by hand rather than with @grafana/grafana-foundation-sdk: the whole model we
 * need is this page, and the panels (dashboards.ts) read as a list of queries.
 */

/** One query of a panel: PromQL and its legend (`{{label}}` placeholders). */
export interface Query {
  expr: string;
  legend?: string;
}

/** A panel as dashboards.ts writes it. */
export interface Panel {
  title: string;
  description?: string;
  /** Grafana unit id: `s`, `reqps`, `percentunit`, `short`, `bytes`, ... */
  unit: string;
  queries: Query[];
  /** `stat` for one current number; time series otherwise. */
  kind?: 'timeseries' | 'stat';
  /** Width in grid columns (of 24); 8 unless said. */
  width?: number;
}

/** A dashboard as dashboards.ts writes it: rows of panels under titles. */
export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  /** File name under deploy/grafana/dashboards/. */
  file: string;
  rows: { title: string; panels: Panel[] }[];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const PANEL_HEIGHT = 8;

function panelJson(panel: Panel, id: number, x: number, y: number): Record<string, unknown> {
  return {
    id,
    type: panel.kind ?? 'timeseries',
    title: panel.title,
    ...(panel.description ? { description: panel.description } : {}),
    datasource: DATASOURCE,
    gridPos: { x, y, w: panel.width ?? 8, h: PANEL_HEIGHT },
    fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
    options: panel.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] } } : { legend: { showLegend: true } },
    targets: panel.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: q.expr,
      ...(q.legend ? { legendFormat: q.legend } : {}),
    })),
  };
}

/** The Grafana JSON model of `dashboard` (schema version 39), panels laid out left to right, row by row. */
export function dashboardJson(dashboard: Dashboard): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let y = 0;
  let id = 1;
  for (const row of dashboard.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 } });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const width = panel.width ?? 8;
      if (x + width > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push(panelJson(panel, id++, x, y));
      x += width;
    }
    y += PANEL_HEIGHT;
  }
  return {
    uid: dashboard.uid,
    title: dashboard.title,
    description: dashboard.description,
    tags: ['checkout-saga'],
    timezone: 'browser',
    schemaVersion: 39,
    editable: true,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} }],
    },
    annotations: { list: [] },
    panels,
  };
}

/** Every PromQL expression of a dashboard's JSON model (what the metric-name test reads). */
export function expressionsOf(json: unknown): string[] {
  const panels = (json as { panels?: { targets?: { expr?: string }[] }[] }).panels ?? [];
  return panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : [])));
}
