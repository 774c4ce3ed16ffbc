/**
 * The HTML page of `migrate report`: self-contained (inline CSS and SVG, no scripts, nothing fetched), for a change
 * board. Pure: ReportModel in, HTML out. Every value is escaped.
 */
import { redact } from '../core/redaction.js';
import type { LagPoint, ReportModel } from './report-model.js';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const e = (v: unknown) => escapeHtml(redact(String(v ?? '')));

/** Heartbeat lag over time as an SVG polyline, with the SLO threshold as a dashed line. */
export function lagChart(points: LagPoint[], thresholdSeconds: number): string {
  if (points.length === 0) return '<p class="muted">No lag samples recorded (run <code>migrate lag</code>).</p>';
  const w = 640;
  const h = 200;
  const pad = 30;
  const times = points.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const top = Math.max(thresholdSeconds * 1.2, ...points.map((p) => p.heartbeatSeconds));
  const x = (t: number) => pad + ((t - t0) / span) * (w - 2 * pad);
  const y = (s: number) => h - pad - (s / top) * (h - 2 * pad);
  const line = points.map((p, i) => `${x(times[i]!).toFixed(1)},${y(p.heartbeatSeconds).toFixed(1)}`).join(' ');
  const dots = points.map((p, i) => `<circle cx="${x(times[i]!).toFixed(1)}" cy="${y(p.heartbeatSeconds).toFixed(1)}" r="3" class="${p.timedOut || p.heartbeatSeconds >= thresholdSeconds ? 'bad' : 'ok'}"><title>${e(p.at)}: ${p.heartbeatSeconds.toFixed(3)} s</title></circle>`).join('');
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="heartbeat lag over time">
<line x1="${pad}" y1="${y(thresholdSeconds).toFixed(1)}" x2="${w - pad}" y2="${y(thresholdSeconds).toFixed(1)}" class="slo"/>
<text x="${w - pad}" y="${(y(thresholdSeconds) - 4).toFixed(1)}" text-anchor="end">SLO ${thresholdSeconds} s</text>
<polyline points="${line}" class="lag"/>${dots}
<text x="${pad}" y="${h - 8}">${e(points[0]!.at)}</text><text x="${w - pad}" y="${h - 8}" text-anchor="end">${e(points.at(-1)!.at)}</text>
<text x="4" y="${pad}">${top.toFixed(1)} s</text></svg>`;
}

export function renderReportHtml(model: ReportModel, lagThresholdSeconds = 5): string {
  const m = model.migration;
  const sloRows = model.slos
    .map((s) => {
      const cls = s.verdict === null ? 'unknown' : s.verdict.pass ? 'pass' : 'fail';
      const label = s.verdict === null ? 'NOT MEASURED' : s.verdict.pass ? 'PASS' : 'FAIL';
      const measured = s.verdict === null ? '—' : Number.isFinite(s.verdict.measured) ? `${+s.verdict.measured.toFixed(3)} ${s.verdict.unit}` : 'none';
      return `<tr class="${cls}"><td>${e(s.metric)}</td><td>${e(s.threshold)}</td><td>${e(measured)}</td><td><b>${label}</b></td><td>${e(s.verdict?.detail ?? '')} ${e(s.note)}</td></tr>`;
    })
    .join('\n');
  const tableRows = model.tables.length
    ? model.tables
        .map((t) => {
          const scope = t.sampled ? `sampled ${t.sampled.rows} of ${t.sampled.of} rows` : `all ${t.sourceRows} rows`;
          const verdict = t.error ? 'NOT COMPARED' : t.match ? (t.sampled ? 'match in sample' : 'match') : 'MISMATCH';
          return `<tr class="${t.error || !t.match ? 'fail' : t.sampled ? 'unknown' : 'pass'}"><td>${e(t.table)}</td><td><b>${e(verdict)}</b></td><td>${e(scope)}</td><td>${t.sourceRows}</td><td>${t.targetRows}</td><td>${t.missingInTarget}</td><td>${t.extraInTarget}</td><td>${t.differing}</td><td>${e(t.at)}</td><td>${e(t.error ?? '')}</td></tr>`;
        })
        .join('\n')
    : '<tr><td colspan="10" class="muted">No validation recorded (run <code>migrate validate</code>).</td></tr>';
  const lagRows = model.lag.map((p) => `<tr><td>${e(p.at)}</td><td>${p.heartbeatSeconds.toFixed(3)}${p.timedOut ? ' (timed out)' : ''}</td><td>${p.consumerLag ?? '—'}</td><td>${p.slotUnconfirmedBytes ?? '—'}</td></tr>`).join('\n');
  const eventRows = model.events.map((ev) => `<tr class="${ev.outcome === 'failed' || ev.outcome === 'refused' ? 'fail' : ''}"><td>${e(ev.at)}</td><td>${e(ev.actor)}</td><td>${e(ev.verb)}</td><td>${e(ev.step)}</td><td>${e(ev.outcome)}</td><td><code>${e(JSON.stringify(ev.detail).slice(0, 400))}</code></td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Migration ${e(m.id)}: report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr.pass td{background:#eefbea}tr.fail td{background:#fdecea}tr.unknown td{background:#fff8e1}.muted{color:#777}code{font-size:85%;white-space:pre-wrap;word-break:break-all}
svg .lag{fill:none;stroke:#1565c0;stroke-width:2}svg .slo{stroke:#c62828;stroke-dasharray:6 4}svg circle.ok{fill:#1565c0}svg circle.bad{fill:#c62828}svg text{font-size:11px;fill:#555}
</style></head><body>
<h1>Migration <code>${e(m.id)}</code></h1>
<p>State <b>${e(m.state)}</b>; created ${e(m.createdAt)}, updated ${e(m.updatedAt)}; report generated ${e(model.generatedAt)}.</p>
<p>Source ${e(`${m.source.host}:${m.source.port}/${m.source.database}`)} → target ${e(`${m.target.host}:${m.target.port}/${m.target.database}`)}; tables ${e(m.tables.join(', '))}.</p>
<h2>SLO verdicts</h2>
<table><tr><th>SLO</th><th>Target</th><th>Measured</th><th>Verdict</th><th>How</th></tr>
${sloRows}
</table>
<h2>Replication lag</h2>
${lagChart(model.lag, lagThresholdSeconds)}
${model.lag.length ? `<table><tr><th>At</th><th>Heartbeat lag (s)</th><th>Sink consumer lag (records)</th><th>Slot unconfirmed (bytes)</th></tr>\n${lagRows}\n</table>` : ''}
<h2>Validation per table (latest)</h2>
<table><tr><th>Table</th><th>Verdict</th><th>Scope</th><th>Source rows</th><th>Target rows</th><th>Missing</th><th>Extra</th><th>Differing</th><th>At</th><th>Error</th></tr>
${tableRows}
</table>
<h2>Event log (${model.events.length})</h2>
<table><tr><th>At</th><th>Actor</th><th>Verb</th><th>Step</th><th>Outcome</th><th>Detail</th></tr>
${eventRows}
</table>
</body></html>
`;
}
